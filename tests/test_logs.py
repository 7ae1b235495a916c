"""Logs an operator can live with: quiet at INFO, everything at DEBUG."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.logs import CHATTY, quiet_chatty_libraries


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
