"""The pacing's bookkeeping: when the next send may go, and whose it is.

bot/telegram/pacing.py is the rate limiter PTB calls: it waits, retries after a 429 and runs the
dispatcher task. What it waits for is decided here, without awaiting anything: the even slots,
the overall window counted from Telegram's answers, each chat's and group's turn, the line of
requests by priority, and the timers of chats whose turn is still to come. The rules are
explained in pacing.py's docstring; apart from the task and its futures they read in one place.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum

from bot.settings import Limits

# Slack on the windows counted from when sends went (a chat's, a group's, a pause): the delay
# from our clock to Telegram's varies a little.
GUARD = 0.02
# The overall window, counted from answers (see pacing.py); the millisecond over a second keeps
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
# The memory of recent chats is swept for idle ones each time it doubles past this size.
SWEEP_FROM = 64
# How many replies may go to one chat at once; after that, the chat's rate applies. Five covers
# a long answer split in parts and a few quick presses; more would lean on Telegram's patience.
REPLY_BURST = 5
# A group's limit is counted over this many seconds (plus GUARD).
GROUP_PERIOD = 60.0


class Priority(IntEnum):
    """Who goes first when both wait; the lower value wins."""

    HIGH = 0
    LOW = 1


@dataclass(eq=False, slots=True)
class Send:
    """A send let go; Telegram had counted it by the time its answer came back."""

    answered: float = math.inf


@dataclass(eq=False)
class Ticket:
    """One request's place in line; the dispatcher resolves `granted` when it may go."""

    priority: Priority
    seq: int
    chat: Chat | None
    granted: asyncio.Future[Send]


# Heap entries: (priority, seq, ticket); seq is unique, so tickets are never compared.
_Entry = tuple[int, int, Ticket]


@dataclass(eq=False)
class Chat:
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


class Slots:
    """The limits' state: sends out and answered, chats' turns, and the line of requests."""

    def __init__(self, limits: Limits, *, connections: int | None = None) -> None:
        self._connections = connections or math.inf
        self._on_the_way = 0
        self._spacing = 1.0 / limits.per_second
        self._early = EARLY if self._spacing < EARLY else 0.0
        self._chat_interval = (1.0 + GUARD) / limits.per_chat_per_second
        self._reply_lead = (REPLY_BURST - 1) * self._chat_interval
        self._group_period = GROUP_PERIOD + GUARD
        self._group_limit = limits.per_group_per_minute
        self._group_interval = self._group_period / limits.per_group_per_minute
        self._sent: deque[Send] = deque(maxlen=limits.per_second)
        self._last_slot = -math.inf
        self._paused_until = -math.inf
        self._ready: list[_Entry] = []
        self._timed: list[tuple[float, int, Chat]] = []
        self._chats: dict[int | str, Chat] = {}
        self._sweep_at = SWEEP_FROM
        # Numbers tickets (a retry keeps its number) and breaks ties between timers.
        self.seq = itertools.count()

    @property
    def remembered_chats(self) -> int:
        """How many chats there is state for; bounded by recent traffic, not history."""
        return len(self._chats)

    @property
    def remembered_sends(self) -> int:
        """How many sends the overall window keeps: the last second's, at most per_second."""
        return len(self._sent)

    @property
    def waiting(self) -> int:
        """How many requests are in line: ready, or waiting for their chat's turn."""
        return len(self._ready) + sum(len(chat.waiting) for chat in self._chats.values())

    @property
    def connections_full(self) -> bool:
        """Whether every connection carries a send: a send returning frees one."""
        return self._on_the_way >= self._connections

    @property
    def next_timer(self) -> float | None:
        """When the next chat waiting for its turn is due to be looked at, if any is."""
        return self._timed[0][0] if self._timed else None

    def chat(self, key: int | str, now: float) -> Chat:
        """The chat's state, made afresh for a chat not seen lately."""
        chat = self._chats.get(key)
        if chat is None:
            if len(self._chats) >= self._sweep_at:
                self._sweep(now)
            group = not isinstance(key, int) or key < 0
            chat = Chat(recent=deque(maxlen=self._group_limit) if group else None)
            self._chats[key] = chat
        return chat

    def due(self, chat: Chat, priority: int) -> float:
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

    def pause(self, until: float) -> None:
        """No send goes before `until` (a 429's retry_after, counted on our clock)."""
        self._paused_until = max(self._paused_until, until)

    def _slot(self) -> float:
        """The next send's place on the even schedule."""
        return max(self._last_slot + self._spacing, self._paused_until)

    def earliest(self) -> float:
        """When the next send may go: up to the lead before its slot, never into a full window."""
        at = max(self._slot() - self._early, self._paused_until)
        if len(self._sent) == self._sent.maxlen:
            at = max(at, self._sent[0].answered + WINDOW)
        return at

    def free(self, now: float) -> bool:
        """Whether a send may go at once: nobody waits or is due to, and the window has room."""
        return (
            not self._ready
            and self._on_the_way < self._connections
            and not (self._timed and self._timed[0][0] <= now)
            and self.earliest() <= now
        )

    def enqueue(self, ticket: Ticket, *, allowed: bool) -> None:
        """Put a request in line, or, if its chat is not due (not `allowed`), with its chat."""
        chat = ticket.chat
        entry: _Entry = (ticket.priority, ticket.seq, ticket)
        if chat is None or allowed:
            heapq.heappush(self._ready, entry)
        else:
            heapq.heappush(chat.waiting, entry)
            self._set_timer(chat)
        if chat is not None:
            chat.pending += 1

    def head(self, now: float) -> Ticket | None:
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
            elif chat is not None and self.due(chat, ticket.priority) > now:
                # Its chat had a send since it got in line: back to wait for the chat.
                heapq.heappush(chat.waiting, heapq.heappop(self._ready))
                self._set_timer(chat)
            else:
                return ticket
        return None

    def let_go(self, ticket: Ticket, now: float) -> Send:
        """Take the head of the line (`ticket`, as head() gave it) out, and count its send."""
        heapq.heappop(self._ready)
        if ticket.chat is not None:
            ticket.chat.pending -= 1
        return self.record_send(ticket.chat, now)

    def record_send(self, chat: Chat | None, now: float) -> Send:
        """Count a send going now: its slot, its place in the window, its chat's turn."""
        self._on_the_way += 1
        # Counting on from the slot keeps a send that went a little late (the loop woke late, or
        # the window held it) from slowing every send after it; after a longer spell, from now.
        slot = self._slot()
        self._last_slot = slot if now - slot < max(self._spacing, CATCH_UP) else now
        sent = self._sent
        while sent and sent[0].answered + WINDOW <= now:
            # Out of every window from now on: remembering it would only cost memory.
            sent.popleft()
        send = Send()
        sent.append(send)
        if chat is not None:
            chat.due = max(chat.due, now) + self._chat_interval
            chat.last = now
            if chat.recent is not None:
                chat.recent.append(now)
            self._set_timer(chat)
        return send

    def returned(self, send: Send, now: float) -> bool:
        """A send is back (or will not go); True if that may let the next one go."""
        send.answered = now
        # The dispatcher may be waiting for a connection, or for this answer to open the window.
        oldest = self._sent[0] if self._sent else None
        wake = self._on_the_way >= self._connections or oldest is send
        self._on_the_way -= 1
        return wake

    def _set_timer(self, chat: Chat) -> None:
        """Make sure the dispatcher looks at the chat's waiting requests when the best is due."""
        if not chat.waiting:
            return
        at = self.due(chat, chat.waiting[0][0])
        if chat.timer_at is None or at < chat.timer_at:
            chat.timer_at = at
            heapq.heappush(self._timed, (at, next(self.seq), chat))

    def release_due_chats(self, now: float) -> None:
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
            if self.due(chat, chat.waiting[0][0]) <= now:
                heapq.heappush(self._ready, heapq.heappop(chat.waiting))
            else:
                self._set_timer(chat)

    def forget_waiting(self) -> list[Ticket]:
        """Empty the line and forget every chat; the tickets that were waiting, to be failed."""
        entries = [*self._ready, *(e for chat in self._chats.values() for e in chat.waiting)]
        self._ready.clear()
        self._timed.clear()
        self._chats.clear()
        self._sweep_at = SWEEP_FROM
        return [ticket for _, _, ticket in entries]
