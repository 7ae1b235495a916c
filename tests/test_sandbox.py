"""``coopbot sandbox``: what someone typing in a terminal sees, with the real bot behind it."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clock import Clock, ManualClock
from bot.curation.content import ContentError
from bot.emulator.telegram_html import Entity, parse
from bot.emulator.values import Document
from bot.sandbox import render_text, run_sandbox, sandbox_storage_url
from bot.sandbox.files import Downloads
from bot.settings import DEFAULT_CONTENT, Settings
from tests.helpers import LATEST_EVENT

PROJECT = Path(__file__).resolve().parent.parent


class Transcript(io.StringIO):
    """Terminal output a test can wait on, for input that depends on what was shown."""

    def __init__(self) -> None:
        super().__init__()
        self._written = asyncio.Event()

    def write(self, text: str) -> int:
        self._written.set()
        return super().write(text)

    async def wait_for(self, text: str, *, since: int = 0) -> str:
        """What is printed from `since` on, once it includes `text` (a deadline, not a sleep)."""
        async with asyncio.timeout(10):
            while text not in self.getvalue()[since:]:
                self._written.clear()
                await self._written.wait()
        return self.getvalue()[since:]


@pytest.fixture
def configured(tmp_path: Path) -> Settings:
    """What a fresh checkout has: no token, the database under data/ (here, under tmp_path)."""
    return Settings(storage_url=f"sqlite+aiosqlite:///{tmp_path}/data/coopbot.db")


async def sandbox_session(
    settings: Settings,
    typed: str,
    *,
    admin: bool = False,
    reset: bool = False,
    files: Path | None = None,
) -> str:
    """Everything printed while the sandbox reads `typed` to its end."""
    output = io.StringIO()
    stream = io.StringIO(typed)
    await run_sandbox(
        settings, input_stream=stream, output=output, admin=admin, reset=reset, files=files
    )
    return output.getvalue()


@asynccontextmanager
async def piped_sandbox(
    settings: Settings, *, clock: Clock | None = None
) -> AsyncIterator[tuple[io.TextIOWrapper, Transcript]]:
    """The sandbox reading a real pipe, which the test writes to as a user types."""
    read_end, write_end = os.pipe()
    typing = os.fdopen(write_end, "w", encoding="utf-8", buffering=1)
    screen = Transcript()
    with os.fdopen(read_end, encoding="utf-8") as reading:
        session = asyncio.create_task(
            run_sandbox(settings, input_stream=reading, output=screen, clock=clock)
        )
        try:
            yield typing, screen
        finally:
            typing.close()  # end of input: the sandbox closes as on Ctrl+D
            await session


async def test_with_admin_you_are_a_curator_and_without_you_are_not(
    configured: Settings,
) -> None:
    as_admin = await sandbox_session(configured, "/help\n/stats\n", admin=True)
    as_user = await sandbox_session(configured, "/stats\n")
    assert "For curators" in as_admin
    assert "0 active, 0 blocked" in as_admin
    assert "curators only" in as_user


async def test_delegation_lists_both_sides(configured: Settings) -> None:
    shown = await sandbox_session(configured, "/delegation\n/quit\n")
    assert "you › /delegation\nbot › " in shown
    assert "• Kunsulu Zakarya — President of the Board of NAS RK" in shown
    assert "• Grigory Trubnikov — JINR Director" in shown
    assert "\x1b[" not in shown  # no colour codes when the output is not a terminal


async def test_every_button_shown_has_a_number_of_its_own(configured: Settings) -> None:
    shown = await sandbox_session(configured, "/facilities\n6\n7\n/quit\n")
    first_page, next_page, card = shown.split("you › ")[1:4]
    assert "      [1] Factory of superconducting magnets\n" in first_page
    assert "      [6] Next ›\n" in first_page
    # Paging edits the message: it is shown again, its buttons numbered on from the last.
    assert next_page.startswith("6\n      (pressed “Next ›”)\nbot › (edited) ")
    assert "      [7] Superheavy Element Factory\n" in next_page
    assert "      [12] ‹ Previous  [13] Next ›\n" in next_page
    assert "bot › (edited) 🏛 Superheavy Element Factory" in card
    assert "[14] ‹ Back to the list" in card


async def test_a_button_of_an_earlier_message_can_be_pressed(configured: Settings) -> None:
    shown = await sandbox_session(configured, "/facilities\n/subscribe\n3\n")
    subscribed, pressed = shown.split("you › ")[2:4]
    assert "      [7] ✅ Event reminders  [8] ✅ Summary\n" in subscribed
    assert pressed.startswith(
        "3\n      (pressed “MPD detector of the NICA Megascience Project”)\n"
    )
    assert "bot › (edited) 🏛 MPD detector of the NICA Megascience Project" in pressed


async def test_a_button_the_bot_has_since_edited_away_is_not_pressed(
    configured: Settings,
) -> None:
    shown = await sandbox_session(configured, "/facilities\n6\n1\n")
    pressed = shown.split("you › ")[3]
    assert pressed == (
        "1\n      “Factory of superconducting magnets” is gone: the bot changed that message"
        " since.\n\n"
    )


async def test_a_number_without_such_a_button_says_which_exist(configured: Settings) -> None:
    shown = await sandbox_session(configured, "4\n/facilities\n9\n/exit\n")
    assert "you › 4\n      No message has buttons yet." in shown
    assert "you › 9\n      There is no button [9]: the buttons shown are [1] to [6].\n" in shown


async def test_end_of_input_ends_the_session_and_keeps_real_data_apart(
    configured: Settings, tmp_path: Path
) -> None:
    shown = await sandbox_session(configured, "/next\n")
    assert LATEST_EVENT in shown
    assert shown.endswith("you › \nSandbox closed.\n")
    assert (tmp_path / "data" / "sandbox.db").is_file()
    assert not (tmp_path / "data" / "coopbot.db").exists()


async def test_reset_starts_afresh_where_otherwise_the_data_is_kept(
    configured: Settings,
) -> None:
    await sandbox_session(configured, "/subscribe\n")
    kept = await sandbox_session(configured, "/stats\n", admin=True)
    fresh = await sandbox_session(configured, "/stats\n", admin=True, reset=True)
    assert "1 active, 0 blocked" in kept
    assert "deleted and made anew" not in kept
    assert "0 active, 0 blocked" in fresh
    assert "--reset: the sandbox's database was deleted and made anew.\n" in fresh


def test_coopbot_sandbox_saves_files_where_files_says(tmp_path: Path) -> None:
    done = coopbot_sandbox(tmp_path, "--admin", "--files", "exports", typed="/export\n")
    assert (done.returncode, done.stderr) == (0, "")
    (saved,) = (tmp_path / "exports").iterdir()
    assert f"saved as exports/{saved.name}\n" in done.stdout


def test_coopbot_sandbox_reset_deletes_the_sandbox_database(tmp_path: Path) -> None:
    sandbox_db = tmp_path / "data" / "sandbox.db"
    sandbox_db.parent.mkdir()
    # What another branch's migrations could leave behind.
    with closing(sqlite3.connect(sandbox_db)) as database, database:
        database.execute("CREATE TABLE left_over (x)")
    done = coopbot_sandbox(tmp_path, "--reset", typed="/quit\n")
    assert (done.returncode, done.stderr) == (0, "")
    assert "--reset: the sandbox's database was deleted and made anew." in done.stdout
    with closing(sqlite3.connect(sandbox_db)) as database:
        tables = {name for (name,) in database.execute("SELECT name FROM sqlite_master")}
    assert "left_over" not in tables
    assert "facts" in tables


async def test_a_file_the_bot_sends_is_saved_beside_the_sandbox_database(
    configured: Settings, tmp_path: Path
) -> None:
    shown = await sandbox_session(configured, "/export\n/export\n", admin=True)
    folder = tmp_path / "data" / "sandbox-files"
    assert f"Files the bot sends are saved in {folder};\n" in shown
    saved = sorted(folder.iterdir())
    assert [path.suffix for path in saved] == [".zip", ".zip"]  # the second beside the first
    for path in saved:
        assert f"bytes), saved as {path}\n" in shown
        with zipfile.ZipFile(path) as archive:
            assert "facts.toml" in archive.namelist()


async def test_files_go_to_the_folder_given(configured: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "my exports"
    shown = await sandbox_session(configured, "/export\n", admin=True, files=folder)
    (saved,) = folder.iterdir()
    assert f"({saved.stat().st_size} bytes), saved as {saved}\n" in shown
    assert not (tmp_path / "data" / "sandbox-files").exists()


async def test_import_sends_a_local_file_as_a_curator_uploads_one(
    configured: Settings, tmp_path: Path
) -> None:
    upload = tmp_path / "my content" / "facts.toml"
    upload.parent.mkdir()
    shutil.copy(DEFAULT_CONTENT / "facts.toml", upload)
    shown = await sandbox_session(configured, f"/import '{upload}'\n", admin=True)
    size = upload.stat().st_size
    assert f"      (sent facts.toml, {size} bytes, captioned /import)\nbot › " in shown
    assert "Nothing to import: the file changes nothing." in shown


async def test_import_of_a_path_that_is_not_there_says_so_and_sends_nothing(
    configured: Settings, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.zip"
    shown = await sandbox_session(
        configured, f"/import {missing}\n/import {tmp_path}\n", admin=True
    )
    assert f"you › /import {missing}\n      There is no file at {missing}.\n\n" in shown
    assert f"\n      {tmp_path} is a folder: /import sends one file, e.g. a zip" in shown
    assert "bot › " not in shown


async def test_import_alone_gets_the_bots_usage_and_the_sandboxs_way(
    configured: Settings,
) -> None:
    shown = await sandbox_session(configured, "/import\n", admin=True)
    answer = shown.split("you › /import\n")[1]
    assert answer.startswith("bot › Send a content file as a document")
    assert "\n\n      In the sandbox, /import PATH sends a file from this machine.\n\n" in answer


def test_a_sent_file_is_saved_inside_the_folder_whatever_its_name(tmp_path: Path) -> None:
    downloads = Downloads(tmp_path / "files")
    names = ["../up.txt", "..\\back.txt", "..", "report.txt", "report.txt"]
    saved = [
        downloads.save(Document(f"DOC{i}", f"U{i}", name, b"x")) for i, name in enumerate(names)
    ]
    assert [path.relative_to(tmp_path / "files").as_posix() for path in saved] == [
        "up.txt",
        "back.txt",
        "DOC2",
        "report.txt",
        "report-2.txt",
    ]
    assert downloads.save(Document("DOC3", "U3", "report.txt", b"x")) == saved[3]  # sent again


async def test_the_prompt_waits_for_typing_while_the_bot_keeps_answering(
    configured: Settings,
) -> None:
    async with piped_sandbox(configured) as (typing, screen):
        typing.write("/facilities\n")
        await screen.wait_for("[6] Next ›\n\nyou › ")
        since = len(screen.getvalue())
        typing.write("6\n")
        await screen.wait_for("[7] Superheavy Element Factory", since=since)
    assert screen.getvalue().endswith("Sandbox closed.\n")


async def test_a_buttons_alert_is_shown(configured: Settings, tmp_path: Path) -> None:
    async with piped_sandbox(configured) as (typing, screen):
        typing.write("/facilities\n")
        await screen.wait_for("[6] Next ›\n\nyou › ")
        # The facility vanishes between showing the list and the press, as after a content sync.
        with closing(sqlite3.connect(tmp_path / "data" / "sandbox.db")) as database, database:
            database.execute("DELETE FROM facilities WHERE id = 'superconducting-magnet-factory'")
        since = len(screen.getvalue())
        typing.write("1\n")
        pressed = await screen.wait_for("\n\nyou › ", since=since)
    assert pressed.startswith("1\n      (pressed “Factory of superconducting magnets”)\n")
    assert "\nbot › (alert) " in pressed
    assert "(the bot said nothing" not in pressed


async def test_a_reminder_that_falls_due_at_the_prompt_shows_without_typing(
    configured: Settings,
) -> None:
    # Twelve days before the NAS RK visit (2 October 2023, Dubna); the digest tick comes round
    # often, so the reminder goes out soon after the clock reaches it.
    clock = ManualClock(datetime(2023, 9, 20, 12, 0, tzinfo=UTC))
    ticking = dataclasses.replace(
        configured, digest=dataclasses.replace(configured.digest, tick=timedelta(seconds=0.05))
    )
    async with piped_sandbox(ticking, clock=clock) as (typing, screen):
        typing.write("/subscribe\n")
        await screen.wait_for("UTC\n\nyou › ")
        since = len(screen.getvalue())
        clock.set(datetime(2023, 10, 1, 12, 0, tzinfo=UTC))  # the day before
        reminded = await screen.wait_for("\n\nyou › ", since=since)
    # The open prompt is ended, the reminder shown, and the prompt offered again.
    assert reminded.startswith("\nbot › ")
    assert "Visit of the NAS RK delegation to JINR" in reminded


async def test_invalid_content_stops_the_sandbox_before_the_chat(
    configured: Settings, tmp_path: Path
) -> None:
    output = io.StringIO()
    broken = Settings(storage_url=configured.storage_url, content_dir=tmp_path / "no-content")
    with pytest.raises(ContentError):
        await run_sandbox(broken, input_stream=io.StringIO("/next\n"), output=output)
    assert output.getvalue() == ""


def coopbot_sandbox(tmp_path: Path, *args: str, typed: str) -> subprocess.CompletedProcess[str]:
    """`coopbot sandbox` run in tmp_path, configured as a fresh checkout, reading `typed`."""
    config = tmp_path / "coopbot.toml"
    config.write_text(f'[storage]\nurl = "sqlite+aiosqlite:///{tmp_path}/data/coopbot.db"\n')
    environment = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    environment.pop("COOPBOT_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "sandbox", "--config", str(config), *args],
        input=typed,
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )


def test_coopbot_sandbox_answers_typed_lines_on_stdin(tmp_path: Path) -> None:
    done = coopbot_sandbox(tmp_path, typed="/next\n/quit\n")
    assert (done.returncode, done.stderr) == (0, "")
    assert "offline" in done.stdout.lower()
    assert "you › /next\nbot › " in done.stdout
    assert LATEST_EVENT in done.stdout
    assert (tmp_path / "data" / "sandbox.db").is_file()


@pytest.mark.parametrize(
    ("configured", "sandbox"),
    [
        ("sqlite+aiosqlite:///data/coopbot.db", "sqlite+aiosqlite:///data/sandbox.db"),
        ("sqlite+aiosqlite:////srv/bot/main.db", "sqlite+aiosqlite:////srv/bot/sandbox.db"),
        ("sqlite:///bot.db", "sqlite+aiosqlite:///sandbox.db"),
    ],
)
def test_the_sandbox_database_sits_beside_the_configured_one(
    configured: str, sandbox: str
) -> None:
    assert sandbox_storage_url(configured) == sandbox


@pytest.mark.parametrize("configured", ["sqlite+aiosqlite://", "postgresql+asyncpg://bot@db/coop"])
def test_the_sandbox_needs_a_database_file_to_sit_beside(configured: str) -> None:
    # Settings never name anything else; a file in the working directory is what the bot avoids.
    with pytest.raises(ValueError, match="beside an SQLite file"):
        sandbox_storage_url(configured)


def test_entities_count_utf16_units_so_emoji_do_not_shift_styles() -> None:
    text, entities = parse("🇰🇿 <b>Kunsulu</b> and 👥 <i>Grigory</i>")
    assert render_text(text, entities) == ["🇰🇿 Kunsulu and 👥 Grigory"]
    assert render_text(text, entities, color=True) == [
        "🇰🇿 \x1b[1mKunsulu\x1b[0m and 👥 \x1b[3mGrigory\x1b[0m"
    ]


def test_links_are_spelled_out_and_quotes_are_barred() -> None:
    text, entities = parse(
        '<a href="https://www.jinr.ru/">JINR</a> news:\n'
        "<blockquote>first\nsecond</blockquote>\nend"
    )
    assert render_text(text, entities) == [
        "JINR (https://www.jinr.ru/) news:",
        "│ first",
        "│ second",
        "end",
    ]


def test_styles_and_spoilers_render_as_a_terminal_can() -> None:
    text, entities = parse("<u>u</u> <s>s</s> <code>c</code> <tg-spoiler>secret</tg-spoiler>")
    assert render_text(text, entities) == ["u s c secret"]
    assert render_text(text, entities, color=True) == [
        "\x1b[4mu\x1b[0m \x1b[9ms\x1b[0m \x1b[36mc\x1b[0m secret"
    ]


def test_long_lines_wrap_at_spaces_inside_the_quote_bar() -> None:
    entities: list[Entity] = [{"type": "blockquote", "offset": 0, "length": 27}]
    assert render_text("one two three four five six", entities, width=12) == [
        "│ one two",
        "│ three four",
        "│ five six",
    ]


def test_wrapped_list_items_line_up_after_their_bullet() -> None:
    assert render_text("• Grigory Trubnikov — JINR Director", [], width=20) == [
        "• Grigory Trubnikov",
        "  — JINR Director",
    ]
