"""One digest's sends: a window of them in flight, each marked in the ledger as it returns.

The rows were written before any send; sends are marked as they return, several in one short
transaction, while later sends go on, and no more than in_flight() are ever sent-or-sending
but unmarked, so a crash repeats at most that many. A chat that blocked the bot or is gone is
deactivated; a group that became a supergroup is followed to its new id and sent the digest
once more; flood control that gets past PTB's rate limiter stops the window. Each chat gets the
digest's words in its language and zone (``Words``). Which digests go,
in what order, and when one no longer applies, is the fan-out's (bot/digest/sending.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.digest.engine import Engine
from bot.digest.progress import Progress
from bot.settings import Limits
from bot.telegram import pacing
from bot.telegram.courier import Courier
from bot.telegram.splitting import split_html
from storage import chats, knowledge, ledger
from storage.bot_models import Digest
from storage.digests import DeliveryStatus
from storage.ledger import Mark, Pending

log = logging.getLogger(__name__)

# Sends on their way, or sent but not yet marked in the ledger: the most a crash can make chats
# receive twice. Half of them can be sending while the other half is marked. At least 8, which
# keeps up with Telegram's 30 a second at any ordinary latency; at a higher configured rate, the
# sends of IN_FLIGHT_SPAN seconds: 64 at 1,000 a second. A transaction costs as much as several
# sends, so marks are batched by half the window (bench/README.md has the figures).
MIN_IN_FLIGHT = 8
MAX_IN_FLIGHT = 64
IN_FLIGHT_SPAN = 0.064
# A delivery that fails this often for passing reasons (network, server errors) is given up.
MAX_ATTEMPTS = 5


class Outcome(StrEnum):
    """How a digest's sends ended: all sent, or why no more were started."""

    SENT_ALL = "sent"
    # Flood control got past the rate limiter: the rest goes on the next tick.
    FLOODED = "flooded"
    # An edit made the digest tell its event otherwise than it now is.
    STALE = "stale"
    # The bot began to stop: the rest goes at the next start.
    STOPPED = "stopped"


class Result(StrEnum):
    """How one send to one chat went."""

    SENT = "sent"
    # The chat blocked the bot or is gone: it is deactivated.
    GONE = "gone"
    # A group that became a supergroup: followed to its new id.
    MIGRATED = "migrated"
    # Flood control: the row stays as it is.
    FLOOD = "flood"
    # Telegram refused this message to this chat: failed, not retried.
    REFUSED = "refused"
    # A passing fault (network, server error): tried again, up to MAX_ATTEMPTS.
    RETRY = "retry"
    # The bot began to stop before it went: the row stays as it is.
    STOPPED = "stopped"


@dataclass(frozen=True)
class _Returned:
    """A send that came back."""

    result: Result
    error: str | None = None
    new_chat_id: int | None = None


@dataclass(frozen=True)
class Words:
    """A digest's words as they are sent, each split into messages once: by (language, zone),
    and its own text for a chat with none of them (a broadcast's, one text for all)."""

    own: Sequence[str]
    variants: Mapping[tuple[str, str], Sequence[str]]

    @classmethod
    def of(cls, text: str, variants: Mapping[tuple[str, str], str]) -> Words:
        split = {pair: split_html(words) for pair, words in variants.items()}
        return cls(split_html(text), split)

    def for_row(self, row: Pending) -> Sequence[str]:
        """What this delivery is to get."""
        if row.language is None or row.zone is None:
            return self.own
        return self.variants.get((row.language, row.zone), self.own)


@dataclass
class Counted:
    """What sends did to the ledger and the chats; the fan-out's Tally adds its own counts."""

    sent: int = 0
    failed: int = 0
    deactivated: int = 0
    migrated: int = 0


def in_flight(limits: Limits) -> int:
    """How many sends may be on their way or unmarked at once, for this rate."""
    wanted = math.ceil(limits.per_second * IN_FLIGHT_SPAN)
    return min(MAX_IN_FLIGHT, max(MIN_IN_FLIGHT, wanted))


class Window:
    """One digest's sends and their marks, which go on side by side.

    A send takes one of in_flight() places before it starts and gives it back only once the
    ledger has it marked, so sent-but-unmarked plus sending never exceeds that: it bounds what a
    crash can repeat. Sends are marked half that many at a time, or all at once when none is
    still on its way. Each mark also reads the knowledge's revision: when an edit landed, the
    next send first checks that the digest still tells the event as it is.
    """

    def __init__(
        self,
        engine: Engine,
        bot: Courier,
        digest: Digest,
        counted: Counted,
        words: Words,
        *,
        stale: Callable[[], bool],
    ) -> None:
        self._engine, self._bot, self._digest, self._counted = engine, bot, digest, counted
        self._words = words
        # Whether the digest no longer tells its event as it is, asked after an edit landed.
        self._stale = stale
        self.progress = Progress(engine, bot, digest)
        # Why no more sends start: FLOODED, STALE or STOPPED; None while they go on.
        self.outcome: Outcome | None = None
        places = in_flight(engine.limits)
        self._places = asyncio.Semaphore(places)
        self._mark_every = places // 2
        self._sending = 0
        # The tasks whose send has not come back yet.
        self._on_the_way: set[asyncio.Task[None]] = set()
        self._returned: list[tuple[Pending, _Returned]] = []
        self._writing = asyncio.Lock()
        # The knowledge's revision this digest was last found current at, and whether a mark
        # has since seen another: then the next place taken checks the digest again.
        self._checked = engine.revision()
        self._edited = False

    async def take_place(self) -> bool:
        """Wait for a free place; False once no more sends are to start."""
        if not await self._free_place():
            self.outcome = self.outcome or Outcome.STOPPED
            return False
        if self._engine.stopping.is_set():
            self.outcome = self.outcome or Outcome.STOPPED
        if self.outcome is None and self._edited:
            await self._check_current()
        if self.outcome is not None:
            self._places.release()
            return False
        self._sending += 1
        return True

    async def _free_place(self) -> bool:
        """Take a place once one is free; False if the bot began to stop first."""
        if not self._places.locked():
            await self._places.acquire()
            return True
        place = asyncio.ensure_future(self._places.acquire())
        stop = asyncio.ensure_future(self._engine.stopping.wait())
        await asyncio.wait((place, stop), return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not place.done():
            place.cancel()
            await asyncio.wait((place,))
        return not place.cancelled()

    async def give_up_after(self, grace: float) -> None:
        """The bot is stopping: wait up to `grace` seconds for the sends on their way, then
        cancel the rest, which stay pending."""
        if self._on_the_way:
            await asyncio.wait(set(self._on_the_way), timeout=grace)
        for task in self._on_the_way:
            task.cancel()
        if self._on_the_way:
            log.info("stopping: %d sends given up, left pending", len(self._on_the_way))

    async def _check_current(self) -> None:
        """An edit landed since the last look: does the digest still tell the event as it is?"""
        await self._engine.refresh()
        self._checked, self._edited = self._engine.revision(), False
        if self._stale():
            self.outcome = Outcome.STALE

    async def send(self, row: Pending, thread_id: int | None) -> None:
        """Send the digest to one chat, in a place taken for it; mark it once enough came back."""
        task = asyncio.current_task()
        assert task is not None  # run as a task of the fan-out's group
        self._on_the_way.add(task)
        try:
            result = await _send(self._bot, row.chat_id, self._words.for_row(row), thread_id)
        finally:
            self._on_the_way.discard(task)
            self._sending -= 1
        self._returned.append((row, result))
        if len(self._returned) >= self._mark_every or not self._sending:
            await self.mark_returned()

    async def mark_returned(self) -> None:
        """Record the sends that came back, and free their places."""
        async with self._writing:
            if not self._returned:
                return
            taken, self._returned = self._returned, []
            rows, results = zip(*taken, strict=True)
            engine, bot, digest = self._engine, self._bot, self._digest
            flooded, revision = await _record(
                engine, bot, digest, self._words, rows, results, self._counted
            )
            if flooded and self.outcome != Outcome.STOPPED:
                self.outcome = Outcome.FLOODED
            if revision != self._checked:
                # Looked into at the next place taken, between this batch of sends and the next.
                self._edited = True
            for _ in taken:
                self._places.release()
            if not engine.stopping.is_set():
                await self.progress.sent(len(taken))


async def _send(
    bot: Courier, chat_id: int, parts: Sequence[str], thread_id: int | None = None
) -> _Returned:
    try:
        for part in parts:
            await bot.deliver(chat_id, part, thread_id=thread_id)
    except ChatMigrated as error:
        return _Returned(Result.MIGRATED, error.message, error.new_chat_id)
    except RetryAfter as error:
        return _Returned(Result.FLOOD, error.message)
    except pacing.Stopped:
        return _Returned(Result.STOPPED)
    except Forbidden as error:
        return _Returned(Result.GONE, error.message)
    except BadRequest as error:
        if "chat not found" in error.message.lower():
            return _Returned(Result.GONE, error.message)
        return _Returned(Result.REFUSED, error.message)
    except TelegramError as error:
        return _Returned(Result.RETRY, error.message)
    except Exception as error:
        # Not Telegram's answer: a bug or a broken connection. The row stays pending.
        log.exception("sending a digest to %s failed", chat_id)
        return _Returned(Result.RETRY, repr(error))
    return _Returned(Result.SENT)


def _mark(row: Pending, returned: _Returned) -> Mark | None:
    """The ledger's record of a send; None leaves the row as it is (flood control)."""
    if returned.result == Result.SENT:
        return Mark(row.chat_id, DeliveryStatus.SENT)
    if returned.result in (Result.GONE, Result.REFUSED, Result.MIGRATED):
        return Mark(row.chat_id, DeliveryStatus.FAILED, returned.error)
    if returned.result == Result.RETRY:
        gave_up = row.attempts + 1 >= MAX_ATTEMPTS
        status = DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING
        return Mark(row.chat_id, status, returned.error)
    return None


async def _record(
    engine: Engine,
    bot: Courier,
    digest: Digest,
    words: Words,
    chunk: Sequence[Pending],
    results: Sequence[_Returned],
    counted: Counted,
) -> tuple[bool, int]:
    """Mark a chunk's sends, deactivate and migrate chats: whether flood control struck, and
    the knowledge's revision as the marks were written."""
    marks: list[Mark] = []
    gone: list[Mark] = []
    moves: list[tuple[int, int]] = []
    for row, returned in zip(chunk, results, strict=True):
        if returned.result == Result.MIGRATED and returned.new_chat_id is not None:
            # The row itself moves to the new id, still pending, and is sent there below.
            moves.append((row.chat_id, returned.new_chat_id))
            continue
        mark = _mark(row, returned)
        if mark is None:
            continue
        marks.append(mark)
        if returned.result == Result.GONE:
            gone.append(mark)
    now = engine.clock.now()
    async with engine.sessions.begin() as session:
        await ledger.mark(session, digest_id=digest.id, marks=marks, now=now)
        for mark in gone:
            await chats.deactivate(
                session, chat_id=mark.chat_id, reason=mark.error or "gone", now=now
            )
        for old, new in moves:
            await chats.migrate_chat(session, old=old, new=new, now=now)
        revision = await knowledge.revision(session)
    _count(counted, marks, gone)
    engine.delivered(digest.kind, (mark.status for mark in marks))
    for old, new in moves:
        log.info("chat %s is now %s", old, new)
        counted.migrated += 1
        await _resend(engine, bot, digest, words, new, counted)
    return any(returned.result == Result.FLOOD for returned in results), revision


async def _resend(
    engine: Engine, bot: Courier, digest: Digest, words: Words, chat_id: int, counted: Counted
) -> None:
    """Send once more, to a group's new id, in its words (at the next start, if the bot is
    stopping)."""
    if engine.stopping.is_set():
        return
    now = engine.clock.now()
    async with engine.sessions() as session:
        row = await ledger.pending_of(session, digest_id=digest.id, chat_id=chat_id, now=now)
    if row is None:
        # The new id had its own row for this digest, which its own turn takes care of.
        return
    returned = await _send(bot, chat_id, words.for_row(row))
    # A second migration is failed, not followed; a passing error is retried on later ticks.
    mark = _mark(Pending(chat_id, attempts=0), returned)
    if mark is None:
        return
    now = engine.clock.now()
    gone = returned.result == Result.GONE
    async with engine.sessions.begin() as session:
        await ledger.mark(session, digest_id=digest.id, marks=[mark], now=now)
        if gone:
            await chats.deactivate(session, chat_id=chat_id, reason=mark.error or "", now=now)
    _count(counted, [mark], [mark] if gone else [])
    engine.delivered(digest.kind, [mark.status])


def _count(counted: Counted, marks: Sequence[Mark], gone: Sequence[Mark]) -> None:
    counted.sent += sum(mark.status == DeliveryStatus.SENT for mark in marks)
    counted.failed += sum(mark.status == DeliveryStatus.FAILED for mark in marks)
    counted.deactivated += len(gone)
    for mark in marks:
        if mark.status == DeliveryStatus.FAILED:
            log.warning("digest to %s failed: %s", mark.chat_id, mark.error)
