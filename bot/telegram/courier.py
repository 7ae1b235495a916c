"""The bot the application runs: PTB's ExtBot, plus retries of what failed for a passing reason,
and a send that does not read its answer back.

Telegram answers every sendMessage with the whole message it made, and PTB turns that into a
`Message` (entities, sender, chat: about 200 µs here). A reply needs nothing of it, and a
digest's fan-out, which sends thousands, spent a fifth of its time on it.

A request that never reached the Bot API, or that it answered with a 5xx, is sent again a few
times: one bad moment on Telegram's side should not lose an answer. A request that timed out
waiting for its answer is not: Telegram may have done it, and a second copy is worse than none.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from contextvars import ContextVar
from typing import Any

from telegram.ext import ExtBot

from bot.telegram.transport import ServerError, Unsent

log = logging.getLogger(__name__)

# The waits before each further attempt: four in all, over 3.5 s of waiting.
RETRY_DELAYS = (0.5, 1.0, 2.0)
# No attempt starts later than this after the first, whatever the delays: a reply that late is
# no longer an answer.
RETRY_BUDGET = 10.0
# What shows the user something: once one of these went out for an update, the user has an
# answer (or part of one), and an error later in the same update must not add "Something went
# wrong" to it.
_SHOWING = ("send", "edit", "copy", "forward")

# Retried by bot.telegram.polling on its own terms (backoff for as long as an outage lasts,
# a line per attempt): a retry here would only multiply its attempts.
_POLLING = frozenset({"getMe", "getUpdates"})

_shown: ContextVar[bool] = ContextVar("shown", default=False)


def shown_in_this_update() -> bool:
    """Whether the update being handled (this task) has shown the user anything yet.

    PTB handles each update in a task of its own, handlers and error handler alike, so a flag
    in the task's context is the update's and no other's.
    """
    return _shown.get()


class Courier(ExtBot[None]):
    """ExtBot with retries, and `deliver`: a message out, through the same defaults, pacing
    and errors, tried once (a digest's ledger tries a failed delivery again at the next tick)."""

    _wire_defaults: dict[str, str] | None = None

    def __init__(self, *args: Any, stopping: asyncio.Event | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Once set, no retry starts: stopping is kept within seconds.
        self._stopping = stopping or asyncio.Event()

    async def deliver(self, chat_id: int, html: str, *, thread_id: int | None = None) -> None:
        """Send `html` to the chat (its forum topic `thread_id`, if given) as send_message
        would, without building the answer."""
        data: dict[str, object] = {"chat_id": chat_id, "text": html, **self._message_defaults()}
        if thread_id is not None:
            data["message_thread_id"] = thread_id
        # ExtBot._do_post is PTB's own path for every method, past the defaults (which
        # _message_defaults has put in): the rate limiter, the request and its error mapping
        # (RetryAfter, Forbidden, ChatMigrated ...); only the parsing of the result into a
        # Message, which send_message adds after it, and our retries are left out.
        await super()._do_post("sendMessage", data)

    async def _do_post(self, endpoint: str, data: Any, **timeouts: Any) -> Any:
        """PTB's post, attempted again after a failure that cannot have done anything."""
        if endpoint in _POLLING:
            return await super()._do_post(endpoint, data, **timeouts)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RETRY_BUDGET
        delays = iter(RETRY_DELAYS)
        while True:
            try:
                result = await super()._do_post(endpoint, data, **timeouts)
                break
            except (Unsent, ServerError) as error:
                delay = next(delays, None)
                if delay is None or loop.time() + delay > deadline or self._stopping.is_set():
                    raise
                log.warning("%s failed (%s); trying again in %.1f s", endpoint, error, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                if self._stopping.is_set():
                    raise
        if endpoint.startswith(_SHOWING):
            _shown.set(True)
        return result

    def _message_defaults(self) -> dict[str, str]:
        """The defaults send_message would add, in their wire form, worked out once: built
        per send, the link preview options cost a new object and a JSON dump each time.
        """
        if self._wire_defaults is None:
            wire = {}
            defaults = self.defaults
            if defaults is not None and defaults.parse_mode is not None:
                wire["parse_mode"] = defaults.parse_mode
            if defaults is not None and defaults.link_preview_options is not None:
                options = defaults.link_preview_options.to_dict()
                wire["link_preview_options"] = json.dumps(options)
            self._wire_defaults = wire
        return self._wire_defaults
