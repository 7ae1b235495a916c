"""Logging set-up that never lets the bot token (or the webhook's secret) reach a log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

MASK = "<token>"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
# What a record was logged for: the update being handled, the digest being sent. Context
# variables follow the work into the tasks it starts, so every line of it carries them.
UPDATE_ID: ContextVar[int | None] = ContextVar("update_id", default=None)
DIGEST_ID: ContextVar[str | None] = ContextVar("digest_id", default=None)
# Libraries that say at INFO what only debugging needs: APScheduler logs two lines each time a
# job runs, and the job that writes the chats the bot met runs every second (170,000 lines a day).
CHATTY = ("apscheduler",)


class Secret:
    """A value that never shows itself in ``repr``, ``str`` or a traceback's locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def redact_records(*secrets: str) -> Callable[[], None]:
    """Mask the token (and any other secret given) in every log record from now on, whoever
    logs it and wherever it goes: PTB logs each method's parameters at DEBUG, setWebhook's
    secret_token among them.

    A record factory sees each record once, before any handler, so handlers added later (by
    a library, a test, an operator) are covered too. Returns a function that undoes it.
    """
    previous = logging.getLogRecordFactory()
    mask = masker(*secrets)

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg = masked
            record.args = None
        if record.exc_info:
            # Formatters reuse exc_text when it is set, so the traceback is masked once, here.
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(make_record)
    return lambda: logging.setLogRecordFactory(previous)


def masker(*secrets: str) -> Callable[[str], str]:
    """A function that masks the secrets in a text, for what is printed rather than logged."""
    # As written, and as it appears in a URL (file downloads quote the colon as %3A); longest
    # first, so a whole token becomes one mask.
    forms = sorted(
        {form for secret in secrets if secret for form in (secret, quote(secret, safe=""))},
        key=len,
        reverse=True,
    )

    def mask(text: str) -> str:
        for form in forms:
            text = text.replace(form, MASK)
        return text

    return mask


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for a log collector: time, level, logger, message, and the
    update and digest the record was logged for, if any. The token is masked before any
    formatter sees a record (``redact_records``)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if (update_id := UPDATE_ID.get()) is not None:
            entry["update_id"] = update_id
        if (digest_id := DIGEST_ID.get()) is not None:
            entry["digest_id"] = digest_id
        if record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


@contextmanager
def about_digest(digest_id: str) -> Iterator[None]:
    """Records logged inside, and in the tasks started there, name this digest."""
    token = DIGEST_ID.set(digest_id)
    try:
        yield
    finally:
        DIGEST_ID.reset(token)


def configure(level: str, *secrets: str | None, form: str = "text") -> None:
    """Log at `level` in `form`, each of `secrets` (the token, the webhook's secret) masked."""
    if form == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(handlers=[handler], level=level)
    else:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    quiet_chatty_libraries(level)
    given = [secret for secret in secrets if secret]
    if given:
        redact_records(*given)


def quiet_chatty_libraries(level: str) -> None:
    """Only warnings from CHATTY libraries, unless the operator asked for DEBUG."""
    chatty_level = logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    for name in CHATTY:
        logging.getLogger(name).setLevel(chatty_level)
