"""The ``coopbot`` command as a user runs it: a real process, real exit codes, real output."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.emulator import BotApiEmulator
from bot.settings import DEFAULT_CONTENT
from tests.conftest import TEST_TOKEN
from tests.helpers import FACTS, RECORD, config_file, table_count

TIMEOUT = 60


def coopbot(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": os.environ.get("PATH", ""), **(env or {})},
        check=False,
        timeout=TIMEOUT,
    )


def broken_content(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT, folder)
    facts = folder / "facts.toml"
    facts.write_text(
        facts.read_text("utf-8").replace('topic = "agreement"', 'topic = "agrement"', 1)
    )
    return folder


def test_content_check_accepts_the_curated_content(tmp_path: Path) -> None:
    result = coopbot("content", "check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (
        f"is valid: {len(RECORD.sources)} sources, {len(RECORD.topics)} topics, " in result.stdout
    )


def test_content_check_names_file_item_and_field(tmp_path: Path) -> None:
    result = coopbot("content", "check", "--folder", str(broken_content(tmp_path)), cwd=tmp_path)
    assert result.returncode == 2
    assert "facts.toml: fact 'agreement-signed' field 'topic'" in result.stderr
    assert "agrement" in result.stderr
    assert "Traceback" not in result.stderr


def test_content_sync_reports_then_finds_nothing_to_do(tmp_path: Path) -> None:
    settings = config_file(tmp_path)
    first = coopbot("content", "sync", "--config", str(settings), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    database = (tmp_path / "data" / "coopbot.db").resolve()
    assert first.stdout.startswith(f"database: {database}\ncontent: {DEFAULT_CONTENT}\n")
    assert f"facts: {FACTS} created" in first.stdout
    again = coopbot("content", "sync", "--config", str(settings), cwd=tmp_path)
    assert f"facts: {FACTS} unchanged" in again.stdout
    assert "created" not in again.stdout


def test_a_relative_database_is_beside_the_config_file_not_in_the_working_directory(
    tmp_path: Path,
) -> None:
    folder, elsewhere = tmp_path / "etc", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    settings = folder / "coopbot.toml"
    settings.write_text('[storage]\nurl = "sqlite+aiosqlite:///data/coopbot.db"\n', "utf-8")
    result = coopbot("content", "sync", "--config", str(settings), cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    database = (folder / "data" / "coopbot.db").resolve()
    assert f"database: {database}\n" in result.stdout
    assert table_count(database, "facts") == FACTS
    assert list(elsewhere.iterdir()) == []


def test_without_a_config_the_database_is_in_the_data_folder(tmp_path: Path) -> None:
    data, elsewhere = tmp_path / "state", tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = coopbot("content", "sync", cwd=elsewhere, env={"COOPBOT_DATA": str(data)})
    assert result.returncode == 0, result.stderr
    assert f"database: {(data / 'coopbot.db').resolve()}\n" in result.stdout
    assert table_count(data / "coopbot.db", "facts") == FACTS
    xdg = coopbot("content", "sync", cwd=elsewhere, env={"XDG_DATA_HOME": str(data)})
    assert xdg.returncode == 0, xdg.stderr
    assert table_count(data / "coopbot" / "coopbot.db", "facts") == FACTS
    assert list(elsewhere.iterdir()) == []


def test_run_refuses_invalid_content_and_keeps_the_last_good_data(tmp_path: Path) -> None:
    good = config_file(tmp_path)
    assert coopbot("content", "sync", "--config", str(good), cwd=tmp_path).returncode == 0
    database = tmp_path / "data" / "coopbot.db"
    before = table_count(database, "facts")

    broken = config_file(tmp_path, content=f'folder = "{broken_content(tmp_path)}"')
    result = coopbot(
        "run", "--config", str(broken), cwd=tmp_path, env={"COOPBOT_TOKEN": TEST_TOKEN}
    )
    assert result.returncode == 2
    assert "field 'topic'" in result.stderr
    assert table_count(database, "facts") == before


async def test_run_creates_its_database_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    async with BotApiEmulator(token=TEST_TOKEN) as emulator:
        settings = config_file(tmp_path, telegram=f'base_url = "{emulator.base_url}"')
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            "--config",
            str(settings),
            cwd=tmp_path,
            env={"PATH": os.environ.get("PATH", ""), "COOPBOT_TOKEN": TEST_TOKEN},
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            # The first reply waits for the process to start: imports, migrations, content.
            chat = emulator.private_chat(emulator.user(7, "Dana"), timeout=TIMEOUT)
            reply = await chat.send("/about")
            assert "JINR and Kazakhstan" in reply.text
            assert emulator.commands()
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT)
    log = stderr.decode()
    assert process.returncode == 0, log
    assert "coopbot stopped" in log
    assert f"database: {(tmp_path / 'data' / 'coopbot.db').resolve()}; content: " in log
    assert TEST_TOKEN not in log
    database = tmp_path / "data" / "coopbot.db"
    assert table_count(database, "chats") == 1  # written at the latest on the way out


def test_a_database_server_that_is_not_there_is_said_in_one_line(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = tmp_path / "coopbot.toml"
    url = f"postgresql+asyncpg://bot:hunter2@127.0.0.1:{port}/coopbot"
    path.write_text(f'[storage]\nurl = "{url}"\n', "utf-8")
    result = coopbot("run", "--config", str(path), cwd=tmp_path, env={"COOPBOT_TOKEN": TEST_TOKEN})
    # Not a wrong setting but a server that is down: exit 1, which a supervisor restarts. The
    # line before it is the INFO line naming the database.
    assert result.returncode == 1
    *_, line = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert line.startswith("coopbot: storage.url: cannot open the database ")
    assert f"127.0.0.1:{port}/coopbot" in line
    assert "start the database server" in line
    assert "hunter2" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("section", "text", "key"),
    [
        ("digest", 'lead_times = ["99999999999d"]', "digest.lead_times"),
        ("digest", 'tick = "99999999999d"', "digest.tick"),
        ("limits", "per_second = true", "limits.per_second"),
        ("limits", "per_group_per_minute = 99999999999", "limits.per_group_per_minute"),
        ("storage", 'url = "mysql+aiomysql://bot:pw@db/coopbot"', "storage.url"),
        ("storage", 'url = "::"', "storage.url"),
    ],
)
def test_run_names_an_out_of_range_or_unusable_setting_in_one_line(
    tmp_path: Path, section: str, text: str, key: str
) -> None:
    path = tmp_path / "coopbot.toml"
    path.write_text(f"[{section}]\n{text}\n", "utf-8")
    result = coopbot("run", "--config", str(path), cwd=tmp_path, env={"COOPBOT_TOKEN": TEST_TOKEN})
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"coopbot: {key}: ")
    assert result.stdout == ""
