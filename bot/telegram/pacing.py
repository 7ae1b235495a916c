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
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.settings import Limits

log = logging.getLogger(__name__)

# Slack on the windows counted from when sends went (a chat's, a group's, a pause): the delay
# from our clock to Telegram's varies a little.
GUARD = 0.02
# The overall window, counted from answers (see above); the millisecond over a second keeps
# sends off the window's very edge, where a rounding of either clock would decide.
WINDOW = 1.001
# The event loop wakes a little after its timers, and a busy loop later still; a send up to
# this much behind its slot still counts on from the slot, so the sends a late wake-up held
# back go at once (the window still holds). At 1,000 a second each wake-up is a slot or two
# late, which would otherwise halve the rate; at 30 a second the spacing covers it.
CATCH_UP = 0.015
# At rates whose slots are closer than this, a slot goes up to this much before it is due, so
# after a stall the sends catch up on the lead rather than losing the stall for good (20 ms
# stalls every 0.1 s cost 3% of the rate without it on the virtual-time loop, 0.5% with it).
EARLY = 0.008
# A retry that still finds the window full costs another wait; after this many, give up.
MAX_RETRIES = 3
# The memory of recent chats is swept for idle ones each time it doubles past this size.
SWEEP_FROM = 64
# How many replies may go to one chat at once; after that, the chat's rate applies. Five covers
# a long answer split in parts and a few quick presses; more would lean on Telegram's patience.
REPLY_BURST = 5
# A group's limit is counted over this many seconds (plus GUARD).
GROUP_PERIOD = 60.0

# What Telegram counts against the limits: methods that post or change a message.
_PACED_PREFIXES = ("send", "copy", "forward", "editMessage", "stopMessageLiveLocation", "stopPoll")
# Starts like a message but only shows "typing…".
_UNPACED = frozenset({"sendChatAction"})

JsonDict = dict[str, Any]
Result = bool | JsonDict | list[JsonDict]


class Priority(IntEnum):
    """Who goes first when both wait; the lower value wins."""

    HIGH = 0
    LOW = 1


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


@dataclass(eq=False, slots=True)
class _Send:
    """A send let go; Telegram had counted it by the time its answer came back."""

    answered: float = math.inf


@dataclass(eq=False)
class _Ticket:
    """One request's place in line; the dispatcher resolves `granted` when it may go."""

    priority: Priority
    seq: int
    chat: _Chat | None
    granted: asyncio.Future[_Send]


# Heap entries: (priority, seq, ticket); seq is unique, so tickets are never compared.
_Entry = tuple[int, int, _Ticket]


@dataclass(eq=False)
class _Chat:
    """What the dispatcher remembers about a chat while it matters."""

    # The chat's rate as a virtual schedule (GCRA): the time its next message is due, were it
    # sent at exactly the chat's rate; replies may run up to REPLY_BURST - 1 messages ahead.
    due: float = -math.inf
    last: float = -math.inf
    # Groups only: the send times within the last GROUP_PERIOD, at most the limit of them.
    recent: deque[float] | None = None
    # Tickets for this chat in the dispatcher's line or in `waiting`, abandoned ones included.
    pending: int = 0
    # Tickets that came while the chat was not due; the best goes in line when it is.
    waiting: list[_Entry] = field(default_factory=list)
    # When the dispatcher next looks at `waiting`, if it is to.
    timer_at: float | None = None


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
        self._connections = connections or math.inf
        self._on_the_way = 0
        self._spacing = 1.0 / limits.per_second
        self._early = EARLY if self._spacing < EARLY else 0.0
        self._chat_interval = (1.0 + GUARD) / limits.per_chat_per_second
        self._reply_lead = (REPLY_BURST - 1) * self._chat_interval
        self._group_period = GROUP_PERIOD + GUARD
        self._group_limit = limits.per_group_per_minute
        self._group_interval = self._group_period / limits.per_group_per_minute
        self._sent: deque[_Send] = deque(maxlen=limits.per_second)
        self._last_slot = -math.inf
        self._paused_until = -math.inf
        self._ready: list[_Entry] = []
        self._timed: list[tuple[float, int, _Chat]] = []
        self._chats: dict[int | str, _Chat] = {}
        self._sweep_at = SWEEP_FROM
        self._seq = itertools.count()
        self._changed: asyncio.Event | None = None
        self._dispatcher: asyncio.Task[None] | None = None

    @property
    def remembered_chats(self) -> int:
        """How many chats the limiter keeps state for; bounded by recent traffic, not history."""
        return len(self._chats)

    @property
    def remembered_sends(self) -> int:
        """How many sends the overall window keeps: the last second's, at most per_second."""
        return len(self._sent)

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
        seq = next(self._seq)
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
        send: _Send,
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

    def _returned(self, send: _Send) -> None:
        """A granted send is back (or will not go): counted, and its connection free again."""
        send.answered = self._clock()
        # The dispatcher may be waiting for a connection, or for this answer to open the window.
        oldest = self._sent[0] if self._sent else None
        wake = self._on_the_way >= self._connections or oldest is send
        self._on_the_way -= 1
        if wake and self._changed is not None:
            self._changed.set()

    def _start(self) -> asyncio.Event:
        if self._dispatcher is None or self._dispatcher.done() or self._changed is None:
            self._changed = asyncio.Event()
            self._dispatcher = asyncio.create_task(
                self._dispatch(self._changed), name="pacing dispatcher"
            )
        return self._changed

    async def _turn(self, chat_key: int | str | None, priority: Priority, seq: int) -> _Send:
        """Wait until this request may go."""
        changed = self._start()
        now = self._clock()
        chat = None if chat_key is None else self._chat(chat_key, now)
        allowed = chat is None or self._due(chat, priority) <= now
        if allowed and self._free(now):
            # Nobody in line and a slot free: go now, without a round trip through the dispatcher.
            return self._record_send(chat, now)
        ticket = _Ticket(priority, seq, chat, asyncio.get_running_loop().create_future())
        entry: _Entry = (priority, seq, ticket)
        if chat is None or allowed:
            heapq.heappush(self._ready, entry)
        else:
            heapq.heappush(chat.waiting, entry)
            self._set_timer(chat)
        if chat is not None:
            chat.pending += 1
        changed.set()
        try:
            return await ticket.granted
        except asyncio.CancelledError:
            if ticket.granted.done() and not ticket.granted.cancelled():
                # Granted just before the cancel: the send will not go after all.
                self._returned(ticket.granted.result())
            raise

    def _chat(self, key: int | str, now: float) -> _Chat:
        chat = self._chats.get(key)
        if chat is None:
            if len(self._chats) >= self._sweep_at:
                self._sweep(now)
            group = not isinstance(key, int) or key < 0
            chat = _Chat(recent=deque(maxlen=self._group_limit) if group else None)
            self._chats[key] = chat
        return chat

    def _due(self, chat: _Chat, priority: int) -> float:
        """When a message of this priority may next go to this chat."""
        if priority == Priority.HIGH:
            at = chat.due - self._reply_lead
        else:
            at = chat.due
            if chat.recent is not None:
                at = max(at, chat.last + self._group_interval)
        if chat.recent is not None and len(chat.recent) == self._group_limit:
            at = max(at, chat.recent[0] + self._group_period)
        return at

    def _sweep(self, now: float) -> None:
        """Forget chats whose past no longer limits them: they start afresh."""
        self._chats = {
            key: chat
            for key, chat in self._chats.items()
            if chat.pending
            or chat.due > now
            or (chat.recent and chat.recent[-1] + self._group_period > now)
        }
        self._sweep_at = max(SWEEP_FROM, 2 * len(self._chats))

    def _pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._clock() + seconds + GUARD)
        if self._changed is not None:
            self._changed.set()

    async def _dispatch(self, changed: asyncio.Event) -> None:
        """Hand out slots, one at a time, for as long as the bot runs."""
        try:
            while True:
                now = self._clock()
                self._release_due_chats(now)
                ticket = self._head(now)
                if ticket is None:
                    await self._wait(changed, self._timed[0][0] if self._timed else None)
                    continue
                if self._on_the_way >= self._connections:
                    # A send returning wakes us.
                    await self._wait(changed, None)
                    continue
                at = self._earliest()
                if at > now:
                    # A HIGH request arriving meanwhile wakes us, and then it is the head; an
                    # answer still out wakes us when it comes.
                    await self._wait(changed, at if at < math.inf else None)
                    continue
                heapq.heappop(self._ready)
                self._grant(ticket, now)
        finally:
            self._fail_waiting()

    def _slot(self) -> float:
        """The next send's place on the even schedule."""
        return max(self._last_slot + self._spacing, self._paused_until)

    def _earliest(self) -> float:
        """When the next send may go: up to the lead before its slot, never into a full window."""
        at = max(self._slot() - self._early, self._paused_until)
        if len(self._sent) == self._sent.maxlen:
            at = max(at, self._sent[0].answered + WINDOW)
        return at

    def _head(self, now: float) -> _Ticket | None:
        """The first request in line that its chat allows now."""
        while self._ready:
            ticket = self._ready[0][2]
            chat = ticket.chat
            if ticket.granted.done():
                # Its caller was cancelled while waiting.
                heapq.heappop(self._ready)
                if chat is not None:
                    chat.pending -= 1
                    self._set_timer(chat)
            elif chat is not None and self._due(chat, ticket.priority) > now:
                # Its chat had a send since it got in line: back to wait for the chat.
                heapq.heappush(chat.waiting, heapq.heappop(self._ready))
                self._set_timer(chat)
            else:
                return ticket
        return None

    def _free(self, now: float) -> bool:
        """Whether a send may go at once: nobody waits or is due to, and the window has room."""
        return (
            not self._ready
            and self._on_the_way < self._connections
            and not (self._timed and self._timed[0][0] <= now)
            and self._earliest() <= now
        )

    def _grant(self, ticket: _Ticket, now: float) -> None:
        if ticket.chat is not None:
            ticket.chat.pending -= 1
        ticket.granted.set_result(self._record_send(ticket.chat, now))

    def _record_send(self, chat: _Chat | None, now: float) -> _Send:
        self._on_the_way += 1
        # Counting on from the slot keeps a send that went a little late (the loop woke late, or
        # the window held it) from slowing every send after it; after a longer spell, from now.
        slot = self._slot()
        self._last_slot = slot if now - slot < max(self._spacing, CATCH_UP) else now
        sent = self._sent
        while sent and sent[0].answered + WINDOW <= now:
            # Out of every window from now on: remembering it would only cost memory.
            sent.popleft()
        send = _Send()
        sent.append(send)
        if chat is not None:
            chat.due = max(chat.due, now) + self._chat_interval
            chat.last = now
            if chat.recent is not None:
                chat.recent.append(now)
            self._set_timer(chat)
        return send

    def _set_timer(self, chat: _Chat) -> None:
        """Make sure the dispatcher looks at the chat's waiting requests when the best is due."""
        if not chat.waiting:
            return
        at = self._due(chat, chat.waiting[0][0])
        if chat.timer_at is None or at < chat.timer_at:
            chat.timer_at = at
            heapq.heappush(self._timed, (at, next(self._seq), chat))

    def _release_due_chats(self, now: float) -> None:
        """Chats that are due put their best waiting request in line."""
        while self._timed and self._timed[0][0] <= now:
            at, _, chat = heapq.heappop(self._timed)
            if chat.timer_at != at:
                continue  # an earlier timer for this chat took its place
            chat.timer_at = None
            while chat.waiting and chat.waiting[0][2].granted.done():
                heapq.heappop(chat.waiting)
                chat.pending -= 1
            if not chat.waiting:
                continue
            if self._due(chat, chat.waiting[0][0]) <= now:
                heapq.heappush(self._ready, heapq.heappop(chat.waiting))
            else:
                self._set_timer(chat)

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
        entries = [*self._ready, *(e for chat in self._chats.values() for e in chat.waiting)]
        for _, _, ticket in entries:
            if not ticket.granted.done():
                ticket.granted.set_exception(RuntimeError("the rate limiter has stopped"))
        self._ready.clear()
        self._timed.clear()
        self._chats.clear()
        self._sweep_at = SWEEP_FROM


def _chat_key(chat_id: object) -> int | str | None:
    """The chat a request goes to: a number, or an @username (a channel or supergroup)."""
    if chat_id is None or isinstance(chat_id, int):
        return chat_id
    try:
        return int(str(chat_id))
    except ValueError:
        return str(chat_id)
