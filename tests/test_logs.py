"""Logs an operator can live with: quiet at INFO, everything at DEBUG."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from telegram import Update
from telegram.ext import CommandHandler

from bot.context import Context
from bot.logs import CHATTY, JsonFormatter, quiet_chatty_libraries
from bot.settings import SettingsError, load_settings
from tests.conftest import TEST_TOKEN, Running
from tests.helpers import START, add_event, subscribe, tick_at


@pytest.fixture(autouse=True)
def levels_restored() -> Iterator[None]:
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in CHATTY)]
    before = [logger.level for logger in loggers]
    yield
    for logger, level in zip(loggers, before, strict=True):
        logger.setLevel(level)


@pytest.mark.parametrize(("level", "shown"), [("INFO", False), ("DEBUG", True)])
def test_apscheduler_reports_each_job_run_only_at_debug(level: str, shown: bool) -> None:
    # As logs.configure sets the root level; APScheduler reports every run of a job
    # ("Running job ...", "... executed successfully") on this logger at INFO.
    logging.getLogger().setLevel(level)
    quiet_chatty_libraries(level)
    executor = logging.getLogger("apscheduler.executors.default")
    assert executor.isEnabledFor(logging.INFO) is shown
    assert executor.isEnabledFor(logging.WARNING), "its warnings (a missed run) still show"


class Lines(logging.Handler):
    """The records as an operator's JSON log would hold them, one object each."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.entries: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.entries.append(json.loads(self.format(record)))


@pytest.fixture
def json_lines() -> Iterator[Lines]:
    lines = Lines()
    root = logging.getLogger()
    root.addHandler(lines)
    yield lines
    root.removeHandler(lines)


async def _fail(update: Update, context: Context) -> None:
    raise RuntimeError(f"request to /bot{TEST_TOKEN}/getMe failed")


async def test_a_json_line_names_the_update_it_was_logged_for_and_masks_the_token(
    running: Running, json_lines: Lines
) -> None:
    running.app.add_handler(CommandHandler("boom", _fail), group=-10)
    update_id = running.chat(1001).say("/boom")
    await running.chat(1001).next_message()
    [failed] = [entry for entry in json_lines.entries if entry["level"] == "ERROR"]
    assert failed["update_id"] == update_id
    assert TEST_TOKEN not in json.dumps(failed)
    assert "<token>" in str(failed["exception"])
    assert {"time", "logger", "message"} <= set(failed)


async def test_a_json_line_names_the_digest_it_was_logged_for(
    running: Running, json_lines: Lines
) -> None:
    await subscribe(running, 1001)
    await add_event(running)
    await tick_at(running, START - timedelta(hours=1))
    sent = [entry for entry in json_lines.entries if entry["logger"] == "bot.digest.sending"]
    assert sent, json_lines.entries
    assert all(str(entry.get("digest_id", "")).startswith("reminder:school:") for entry in sent)


def test_json_logs_are_chosen_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "coopbot.toml"
    path.write_text('[logging]\nformat = "json"\n', "utf-8")
    assert load_settings(path, env={}).log_format == "json"
    path.write_text('[logging]\nformat = "xml"\n', "utf-8")
    with pytest.raises(SettingsError, match=r"logging.format: 'xml' is not one of text, json"):
        load_settings(path, env={})
