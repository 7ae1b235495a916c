"""Pacing: the bot's messages go out on an even schedule that keeps to Telegram's limits.

PTB's AIORateLimiter lets a second's worth of messages go at once, so a strict sliding window
refuses some of them (19 429s per 600 messages here). ``SmoothRateLimiter`` instead has one
dispatcher task hand out send slots one at a time:

* Overall, slots are ``1 s / per_second`` apart, and a send goes no sooner than WINDOW (a
  second and a millisecond) after the answer to the send ``per_second`` before it. Telegram
  counted that send before it answered, so no second of Telegram's own clock ever holds more
  than ``per_second`` sends, whatever the delays on the way there and back: a stall on either
  side holds back only the sends a second after it. The round trip is the price: the rate is
  ``per_second / (WINDOW + round trip)``: 0.99 of the limit over loopback, and by that formula
  0.93 with an 80 ms round trip (the alternatives measured are in bench/README.md).
* Per chat, fan-out messages go ``1 s / per_chat_per_second`` apart; in a group also
  ``60 s / per_group_per_minute`` apart: evenly, never 20 at once and then a minute's silence.
  Replies may go up to REPLY_BURST at once: Telegram allows short bursts in a chat ("we may
  allow short bursts that go over this limit"), and held to a second each, an answer in five
  parts took four seconds more (and the test suite three times as long). Replies still keep
  the chat's average rate, and a fan-out message after them waits until that average allows.
  A group never gets more than per_group_per_minute in any minute, whoever sends. A chat
  waiting for its turn holds up no other chat.
* Priority: no request reserves a slot ahead of time. When a slot comes up it goes to the first
  request in line, HIGH before LOW, then in arrival order. Sends inside ``low_priority()`` (a
  digest's fan-out) are LOW; everything else, the replies and edits made while handling an
  update, is HIGH, so a reply waits at most one slot however long the digest queue. Priority
  travels in a context variable rather than ``rate_limit_args``: a whole delivery is marked
  once, helpers that split long texts and tasks it starts included, and the bot stays an
  ``ExtBot[None]``.
* Connections: a slot is handed out only while fewer than ``connections`` paced requests are
  on their way (the size of the bot's connection pool). A send granted but left waiting for a
  connection would go later than its chat's turn was counted, and a reply would wait behind it.
* 429: RetryAfter pauses every send for the time Telegram asks, then the refused request goes
  again, first in its line, up to MAX_RETRIES times; after that the error is raised. Every other
  error (ChatMigrated, Forbidden ...) passes through untouched, for the delivery code to handle.

* Stopping: inside ``until(event)`` (a fan-out, with the bot's ``stopping``), a send whose
  turn comes once the event is set does not go; it raises Stopped, and its slot is given back.

Only methods that post or change a message are paced; getUpdates, answerCallbackQuery,
getChatMember and the like go straight through.

This module is the part PTB calls: the waiting, the retries, the dispatcher task. The state the
rules above are kept in, and the decisions made from it, are in bot/telegram/slots.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.settings import Limits
from bot.telegram.slots import GUARD, Priority, Send, Slots, Ticket

log = logging.getLogger(__name__)

# A retry that still finds the window full costs another wait; after this many, give up.
MAX_RETRIES = 3

# What Telegram counts against the limits: methods that post or change a message.
_PACED_PREFIXES = ("send", "copy", "forward", "editMessage", "stopMessageLiveLocation", "stopPoll")
# Starts like a message but only shows "typing…".
_UNPACED = frozenset({"sendChatAction"})

JsonDict = dict[str, Any]
Result = bool | JsonDict | list[JsonDict]


_priority: ContextVar[Priority] = ContextVar("pacing_priority", default=Priority.HIGH)


@contextlib.contextmanager
def low_priority() -> Iterator[None]:
    """Sends in this block, and in tasks started in it, wait behind replies to users."""
    token = _priority.set(Priority.LOW)
    try:
        yield
    finally:
        _priority.reset(token)


_stopping: ContextVar[asyncio.Event | None] = ContextVar("pacing_stopping", default=None)


class Stopped(Exception):
    """A send whose turn came after the bot began to stop: it did not go."""


@contextlib.contextmanager
def until(stopping: asyncio.Event) -> Iterator[None]:
    """Sends in this block, and in tasks started in it, whose turn comes once `stopping` is set
    do not go: they raise Stopped, so a fan-out stops starting sends at once, while those
    already on their way come back as usual.
    """
    token = _stopping.set(stopping)
    try:
        yield
    finally:
        _stopping.reset(token)


class SmoothRateLimiter(BaseRateLimiter[None]):
    """Paces sends evenly under Telegram's limits; replies overtake fan-outs."""

    def __init__(
        self,
        limits: Limits,
        *,
        connections: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # `clock` must tell the event loop's time (time.monotonic in production): waits are
        # asyncio timeouts computed from it.
        self._clock = clock
        self._slots = Slots(limits, connections=connections)
        self._changed: asyncio.Event | None = None
        self._dispatcher: asyncio.Task[None] | None = None

    @property
    def remembered_chats(self) -> int:
        """How many chats the limiter keeps state for; bounded by recent traffic, not history."""
        return self._slots.remembered_chats

    @property
    def remembered_sends(self) -> int:
        """How many sends the overall window keeps: the last second's, at most per_second."""
        return self._slots.remembered_sends

    @property
    def waiting(self) -> int:
        """How many sends wait in line for their turn (the metrics' pacing queue depth)."""
        return self._slots.waiting

    async def initialize(self) -> None:
        """Start the dispatcher in the bot's event loop."""
        self._start()

    async def shutdown(self) -> None:
        """Stop the dispatcher; requests still waiting fail rather than hang."""
        task, self._dispatcher = self._dispatcher, None
        if task is not None:
            task.cancel()
            await asyncio.wait({task})

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> Result:
        """Send when the limits allow; after a 429, wait as told and send again."""
        if not endpoint.startswith(_PACED_PREFIXES) or endpoint in _UNPACED:
            return await callback(*args, **kwargs)
        chat_key = _chat_key(data.get("chat_id"))
        priority = _priority.get()
        # A retry keeps its place: it goes before whatever came after it.
        seq = next(self._slots.seq)
        for _ in range(MAX_RETRIES):
            send = await self._turn(chat_key, priority, seq)
            try:
                return await self._go(send, callback, args, kwargs)
            except RetryAfter as flood:
                # The public retry_after warns (PTB 22 deprecation) unless PTB_TIMEDELTA is set.
                wait = flood._retry_after.total_seconds()
                log.warning("Telegram asks to wait %.0f s (%s); every send pauses", wait, endpoint)
                self._pause(wait)
        send = await self._turn(chat_key, priority, seq)
        return await self._go(send, callback, args, kwargs)

    async def _go(
        self,
        send: Send,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
    ) -> Result:
        """Send a granted request; its connection counts as taken until it returns."""
        try:
            stopping = _stopping.get()
            if stopping is not None and stopping.is_set():
                raise Stopped("the bot is stopping")
            return await callback(*args, **kwargs)
        finally:
            self._returned(send)

    def _returned(self, send: Send) -> None:
        """A granted send is back (or will not go): counted, and its connection free again."""
        if self._slots.returned(send, self._clock()) and self._changed is not None:
            self._changed.set()

    def _start(self) -> asyncio.Event:
        if self._dispatcher is None or self._dispatcher.done() or self._changed is None:
            self._changed = asyncio.Event()
            self._dispatcher = asyncio.create_task(
                self._dispatch(self._changed), name="pacing dispatcher"
            )
        return self._changed

    async def _turn(self, chat_key: int | str | None, priority: Priority, seq: int) -> Send:
        """Wait until this request may go."""
        changed = self._start()
        slots = self._slots
        now = self._clock()
        chat = None if chat_key is None else slots.chat(chat_key, now)
        allowed = chat is None or slots.due(chat, priority) <= now
        if allowed and slots.free(now):
            # Nobody in line and a slot free: go now, without a round trip through the dispatcher.
            return slots.record_send(chat, now)
        ticket = Ticket(priority, seq, chat, asyncio.get_running_loop().create_future())
        slots.enqueue(ticket, allowed=allowed)
        changed.set()
        try:
            return await ticket.granted
        except asyncio.CancelledError:
            if ticket.granted.done() and not ticket.granted.cancelled():
                # Granted just before the cancel: the send will not go after all.
                self._returned(ticket.granted.result())
            raise

    def _pause(self, seconds: float) -> None:
        self._slots.pause(self._clock() + seconds + GUARD)
        if self._changed is not None:
            self._changed.set()

    async def _dispatch(self, changed: asyncio.Event) -> None:
        """Hand out slots, one at a time, for as long as the bot runs."""
        slots = self._slots
        try:
            while True:
                now = self._clock()
                slots.release_due_chats(now)
                ticket = slots.head(now)
                if ticket is None:
                    await self._wait(changed, slots.next_timer)
                    continue
                if slots.connections_full:
                    # A send returning wakes us.
                    await self._wait(changed, None)
                    continue
                at = slots.earliest()
                if at > now:
                    # A HIGH request arriving meanwhile wakes us, and then it is the head; an
                    # answer still out wakes us when it comes.
                    await self._wait(changed, at if at < math.inf else None)
                    continue
                self._grant(ticket, now)
        finally:
            self._fail_waiting()

    def _grant(self, ticket: Ticket, now: float) -> None:
        ticket.granted.set_result(self._slots.let_go(ticket, now))

    async def _wait(self, changed: asyncio.Event, until: float | None) -> None:
        """Until `until`, or until a request arrives or a 429 changes the plan."""
        changed.clear()
        if until is None:
            await changed.wait()
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(until - self._clock()):
                await changed.wait()

    def _fail_waiting(self) -> None:
        """The dispatcher has stopped: nobody would ever let these requests go."""
        for ticket in self._slots.forget_waiting():
            if not ticket.granted.done():
                ticket.granted.set_exception(RuntimeError("the rate limiter has stopped"))


def _chat_key(chat_id: object) -> int | str | None:
    """The chat a request goes to: a number, or an @username (a channel or supergroup)."""
    if chat_id is None or isinstance(chat_id, int):
        return chat_id
    try:
        return int(str(chat_id))
    except ValueError:
        return str(chat_id)
