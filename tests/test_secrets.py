"""The bot token never reaches a log line, even at DEBUG with every library talking."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.logs import MASK, redact_records
from tests.conftest import TEST_TOKEN, Running


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_log() -> Iterator[Collect]:
    """Everything logged at DEBUG, from every logger, with the token masking in place."""
    root = logging.getLogger()
    collect = Collect()
    level = root.level
    undo = redact_records(TEST_TOKEN)
    root.addHandler(collect)
    root.setLevel(logging.DEBUG)
    try:
        yield collect
    finally:
        root.removeHandler(collect)
        root.setLevel(level)
        undo()


async def test_token_is_masked_in_every_log_line_at_debug(
    debug_log: Collect, running: Running
) -> None:
    chat = running.chat()
    page = await chat.send("/facilities")
    await chat.press(page, "Next ›")
    await chat.send("/search DIRAC")
    logging.getLogger("anything").error("url was https://x/bot%s/getMe", TEST_TOKEN)
    quoted = TEST_TOKEN.replace(":", "%3A")
    logging.getLogger("httpx").info("HTTP Request: GET http://x/file/bot%s/doc/1", quoted)
    try:
        raise RuntimeError(f"request to /bot{TEST_TOKEN}/getMe failed")
    except RuntimeError:
        logging.getLogger("anything").exception("a failure with the token in its traceback")

    assert len(debug_log.lines) > 20
    secret = TEST_TOKEN.split(":")[1]
    assert not [line for line in debug_log.lines if secret in line]
    assert any(MASK in line for line in debug_log.lines)
