"""Settings: defaults, the config file, the environment, and one clear line for each mistake."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.settings import (
    DEFAULT_CONTENT,
    PUBLIC_API,
    SettingsError,
    default_data_dir,
    load_settings,
)
from storage.urls import database_location
from tests.conftest import TEST_TOKEN


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "coopbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_need_no_file() -> None:
    settings = load_settings(env={"HOME": "/home/dana"})
    assert settings.base_url == PUBLIC_API
    assert settings.base_file_url == "https://api.telegram.org/file/bot"
    assert settings.storage_url == "sqlite+aiosqlite:////home/dana/.local/share/coopbot/coopbot.db"
    assert settings.content_dir == DEFAULT_CONTENT
    assert (settings.content_dir / "facts.toml").is_file()
    assert settings.zone.key == "Asia/Almaty"
    assert settings.admin_ids == frozenset()
    assert settings.token is None


def test_example_config_is_valid_and_matches_the_defaults() -> None:
    example = load_settings(Path(__file__).parent.parent / "config.example.toml", env={})
    assert example == load_settings(env={})


@pytest.mark.parametrize(
    ("env", "folder"),
    [
        ({"COOPBOT_DATA": "/srv/coopbot", "XDG_DATA_HOME": "/x", "HOME": "/h"}, "/srv/coopbot"),
        ({"XDG_DATA_HOME": "/var/data", "HOME": "/h"}, "/var/data/coopbot"),
        # The XDG rules ignore a relative XDG_DATA_HOME.
        ({"XDG_DATA_HOME": "data", "HOME": "/h"}, "/h/.local/share/coopbot"),
        ({"HOME": "/h"}, "/h/.local/share/coopbot"),
    ],
)
def test_without_a_configured_database_it_lives_in_the_data_folder(
    env: dict[str, str], folder: str
) -> None:
    assert default_data_dir(env) == Path(folder)
    assert load_settings(env=env).storage_url == f"sqlite+aiosqlite:///{folder}/coopbot.db"


def test_relative_paths_are_taken_from_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    path = write(
        folder, '[storage]\nurl = "sqlite+aiosqlite:///data/bot.db"\n[content]\nfolder = "cur"\n'
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(Path("../etc/coopbot.toml"), env={})
    assert settings.storage_url == f"sqlite+aiosqlite:///{folder}/data/bot.db"
    assert settings.content_dir == folder / "cur"
    assert load_settings(env={"COOPBOT_CONFIG": str(path)}) == settings


def test_absolute_paths_in_the_config_are_kept(tmp_path: Path) -> None:
    path = write(
        tmp_path / "..",
        '[storage]\nurl = "sqlite+aiosqlite:////srv/bot/main.db"\n[content]\nfolder = "/srv/c"\n',
    )
    settings = load_settings(path, env={})
    assert settings.storage_url == "sqlite+aiosqlite:////srv/bot/main.db"
    assert settings.content_dir == Path("/srv/c")


def test_the_database_is_shown_as_a_file_or_a_url_without_its_password() -> None:
    assert database_location("sqlite+aiosqlite:////srv/bot/main.db") == "/srv/bot/main.db"
    assert (
        database_location("postgresql+asyncpg://bot:secret@db/coopbot")
        == "postgresql+asyncpg://bot:***@db/coopbot"
    )


def test_file_values_and_environment_token_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[telegram]\nbase_url = "http://127.0.0.1:8081/bot"\n'
        "[admins]\nuser_ids = [42, 7]\n"
        '[time]\nzone = "Europe/Moscow"\n',
    )
    settings = load_settings(env={"COOPBOT_CONFIG": str(path), "COOPBOT_TOKEN": TEST_TOKEN})
    assert settings.base_url == "http://127.0.0.1:8081/bot"
    assert settings.base_file_url == "http://127.0.0.1:8081/file/bot"
    assert settings.admin_ids == {42, 7}
    assert settings.zone.key == "Europe/Moscow"
    assert settings.require_token() == TEST_TOKEN


def test_environment_token_wins_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[telegram]\ntoken = "111:fromfilefromfile"\n')
    assert load_settings(path, env={"COOPBOT_TOKEN": TEST_TOKEN}).require_token() == TEST_TOKEN


def test_a_postgresql_url_is_taken_as_written(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://bot:secret@db.example:5433/coopbot"
    settings = load_settings(write(tmp_path, f'[storage]\nurl = "{url}"\n'), env={})
    assert settings.storage_url == url


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('[telegram]\nbase_urll = "x"\n', "telegram.base_urll: unknown key"),
        ('[database]\nurl = "x"\n', "[database]: unknown section"),
        ('[time]\nzone = "Asia/Almati"\n', "time.zone: unknown time zone 'Asia/Almati'"),
        ('[admins]\nuser_ids = ["@alice"]\n', "admins.user_ids: '@alice' is not a numeric"),
        ('[admins]\nuser_ids = "42"\n', "admins.user_ids: expected a list"),
        ('[telegram]\nbase_url = "api.telegram.org"\n', "telegram.base_url: 'api.telegram.org'"),
        ('[logging]\nlevel = "LOUD"\n', "logging.level: 'LOUD'"),
        ("[telegram\n", "is not valid TOML"),
        ('[digest]\nlead_times = ["7 days"]\n', "digest.lead_times: '7 days' is not a duration"),
        (
            '[digest]\nsummary = "0 25 * * mon"\n',
            "digest.summary: '0 25 * * mon' is not a crontab",
        ),
        ('[digest]\ntick = "0s"\n', "digest.tick: '0s' is not a duration"),
        ("[limits]\nper_second = 0\n", "limits.per_second: 0 must be a positive whole number"),
        ("[limits]\nper_second = true\n", "limits.per_second: expected a int, got True"),
        ("[limits]\nper_second = 1000001\n", "limits.per_second: 1000001 must be a positive"),
        ("[limits]\nper_chat_per_second = 31\n", "limits.per_chat_per_second: 31 must be"),
        ("[limits]\nper_group_per_minute = 10e9\n", "limits.per_group_per_minute: expected"),
        (
            '[digest]\nlead_times = ["99999999999d"]\n',
            "digest.lead_times: '99999999999d' is longer than 366d",
        ),
        ('[digest]\ntick = "99999999999d"\n', "digest.tick: '99999999999d' is longer than 1d"),
        ('[digest]\ntick = "2d"\n', "digest.tick: '2d' is longer than 1d"),
        ("[digest]\nchannel_id = true\n", "digest.channel_id: expected a int, got True"),
        ("[digest]\nchannel_id = 99999999999999999\n", "digest.channel_id: 99999999999999999"),
        ('[digest]\nchannel_language = "de"\n', "digest.channel_language: 'de' is not one"),
        ('[digest]\nchannel_zone = "Mars/Base"\n', "digest.channel_zone: unknown time zone"),
        ("[admins]\nuser_ids = [99999999999999999]\n", "admins.user_ids: 99999999999999999"),
        ("[admins]\nuser_ids = [true]\n", "admins.user_ids: True is not a numeric"),
        ('[storage]\nurl = "not a url"\n', "storage.url: this is not a database URL"),
        (
            '[storage]\nurl = "sqlite:///x.db"\n',
            "storage.url: 'sqlite:///x.db' is neither SQLite through aiosqlite nor PostgreSQL",
        ),
        (
            '[storage]\nurl = "postgresql://bot:secret@db/coopbot"\n',
            "storage.url: 'postgresql://bot:***@db/coopbot' is neither SQLite",
        ),
        (
            '[storage]\nurl = "postgresql+asyncpg://bot:secret@db"\n',
            "storage.url: 'postgresql+asyncpg://bot:***@db' names no database",
        ),
        ('[storage]\nurl = "nosuchdb://x"\n', "storage.url: 'nosuchdb://x' is neither SQLite"),
        (
            '[storage]\nurl = "sqlite+aiosqlite://"\n',
            "'sqlite+aiosqlite://' names no database file",
        ),
        (
            '[storage]\nurl = "sqlite+aiosqlite:///:memory:"\n',
            "storage.url: 'sqlite+aiosqlite:///:memory:' names no database file",
        ),
    ],
)
def test_a_wrong_key_is_named_with_its_fix(tmp_path: Path, text: str, named: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(named)):
        load_settings(write(tmp_path, text), env={})


def test_missing_config_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"copy config\.example\.toml"):
        load_settings(tmp_path / "absent.toml", env={})


def test_token_never_shows_in_repr_or_errors() -> None:
    settings = load_settings(env={"COOPBOT_TOKEN": TEST_TOKEN})
    assert TEST_TOKEN not in repr(settings)
    assert TEST_TOKEN not in str(settings)
    secret_part = "not-a-token-but-secret"
    with pytest.raises(SettingsError) as caught:
        load_settings(env={"COOPBOT_TOKEN": secret_part})
    assert secret_part not in str(caught.value)


def test_cli_reports_a_bad_setting_in_one_line_with_status_2(tmp_path: Path) -> None:
    path = write(tmp_path, '[time]\nzone = "Mars/Olympus"\n')
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(path)],
        capture_output=True,
        text=True,
        env={"COOPBOT_TOKEN": TEST_TOKEN, "PATH": ""},
        cwd=tmp_path,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "coopbot: time.zone: unknown time zone 'Mars/Olympus' "
        "(use an IANA name such as 'Asia/Almaty')"
    ]
    assert "Traceback" not in result.stderr


def test_cli_without_a_token_says_where_to_put_one(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        capture_output=True,
        text=True,
        env={"PATH": ""},
        cwd=tmp_path,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert "COOPBOT_TOKEN" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_digest_lead_times_are_read_longest_first(tmp_path: Path) -> None:
    path = write(tmp_path, '[digest]\nlead_times = ["90s", "2d", "10m"]\nchannel_id = -1001\n')
    settings = load_settings(path, env={})
    assert settings.digest.lead_times == (
        timedelta(days=2),
        timedelta(minutes=10),
        timedelta(seconds=90),
    )
    assert settings.digest.channel_id == -1001
