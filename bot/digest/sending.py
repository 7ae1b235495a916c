"""Sending open digests from the ledger: a batch of chats at a time, every send marked.

The rows were written before any send; sends are marked as they return, several in one short
transaction, while later sends go on, and no more than in_flight() are ever sent-or-sending
but unmarked, so a crash repeats at most that many. A chat that blocked the bot or is gone is
deactivated; a group that became a supergroup is followed to its new id and sent the digest
once more; flood control that gets past PTB's rate limiter ends the tick and leaves the rest
pending for the next. An edit to the event that makes a reminder or notice stale, noticed
between batches of sends, supersedes it with what tells the event as it is
(bot/digest/planning.py).
Once the bot begins to stop, no send starts; those on their way get STOP_GRACE to come back
and be marked, and the rest stays pending for the next start. Sends are paced by the app's
rate limiter (bot/telegram/pacing.py) at low priority, behind replies to users. A broadcast's
progress message is edited as its sends go (bot/digest/progress.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.context import BotData
from bot.digest import planning
from bot.digest.progress import Progress
from bot.knowledge import refresh
from bot.settings import Limits
from bot.telegram import pacing
from bot.telegram.courier import Courier
from bot.telegram.splitting import split_html
from storage import chats, digests, knowledge, subscriptions
from storage.digests import (
    CANCELLED,
    CHANGED,
    FAILED,
    PENDING,
    REMINDER,
    RESTORED,
    SENT,
    Mark,
    Pending,
)
from storage.models import Digest, Event

log = logging.getLogger(__name__)

# The JobQueue name of the digest tick (handlers/digest.py), which a broadcast runs at once.
TICK_JOB = "digest tick"
# Sends on their way, or sent but not yet marked in the ledger: the most a crash can make chats
# receive twice. Half of them can be sending while the other half is marked. At least 8, which
# keeps up with Telegram's 30 a second at any ordinary latency; at a higher configured rate, the
# sends of IN_FLIGHT_SPAN seconds: 64 at 1,000 a second. A transaction costs as much as several
# sends, so marks are batched by half the window (bench/README.md has the figures).
MIN_IN_FLIGHT = 8
MAX_IN_FLIGHT = 64
IN_FLIGHT_SPAN = 0.064
# How a digest's sends ended, short of all being sent: flood control, or an edit to its event.
SENT_ALL, FLOODED, STALE, STOPPED = "sent", "flooded", "stale", "stopped"
# Once the bot begins to stop, sends already on their way get this many seconds to come back
# and be marked; those still out are then given up, left pending for the next start (they may
# have arrived: at most in_flight() of them go twice). Docker and systemd wait 10 s or more.
STOP_GRACE = 2.0
# A delivery that fails this often for passing reasons (network, server errors) is given up.
MAX_ATTEMPTS = 5

_SENT, _GONE, _MIGRATED, _FLOOD, _REFUSED, _RETRY, _STOPPED = (
    "sent",
    "gone",
    "migrated",
    "flood",
    "refused",
    "retry",
    "stopped",
)


@dataclass(frozen=True)
class _Result:
    kind: str
    error: str | None = None
    new_chat_id: int | None = None


@dataclass
class Tally:
    """What one fan-out did, for the log and for tests."""

    sent: int = 0
    failed: int = 0
    deactivated: int = 0
    migrated: int = 0
    # Digests whose event began before they were all sent.
    expired: int = 0
    # Digests whose event moved, was cancelled or changed place or end before they were all
    # sent, and were replaced by what tells it as it is.
    superseded: int = 0
    # Flood control ended the fan-out early; the rest goes on the next tick.
    interrupted: bool = False
    # The bot began to stop; the rest goes at the next start.
    stopped: bool = False


def in_flight(limits: Limits) -> int:
    """How many sends may be on their way or unmarked at once, for this rate."""
    wanted = math.ceil(limits.per_second * IN_FLIGHT_SPAN)
    return min(MAX_IN_FLIGHT, max(MIN_IN_FLIGHT, wanted))


async def fan_out(data: BotData, bot: Courier) -> Tally:
    """Send every open digest's pending deliveries, oldest digest first.

    One opened meanwhile (a broadcast confirmed during the pass) goes out on the tick's next
    round: handlers/digest.py's Ticker goes round again when asked while it runs. What replaces
    a digest that went stale goes out next, in this pass.
    """
    tally = Tally()
    async with data.sessions() as session:
        todo = deque(await digests.open_digests(session))
    # Low priority: a reply to someone's command goes before the next digest send.
    with pacing.low_priority(), pacing.until(data.stopping):
        while todo:
            if data.stopping.is_set():
                tally.stopped = True
                break
            digest = todo.popleft()
            now = data.clock.now()
            events = _events(data)
            if begun(digest, events, now=now):
                async with data.sessions.begin() as session:
                    await digests.skip_pending(
                        session, digest_id=digest.id, reason="the event has begun", now=now
                    )
                    await digests.finish(session, digest_id=digest.id)
                tally.expired += 1
                log.info("digest %s no longer applies: the event has begun", digest.id)
                continue
            if stale(digest, events) is None:
                outcome = await _send_digest(data, bot, digest, tally)
                if outcome == FLOODED:
                    tally.interrupted = True
                    break
                if outcome == STOPPED:
                    tally.stopped = True
                    break
                if outcome != STALE:
                    continue
            todo.extendleft(reversed(await _supersede(data, digest, tally)))
    return tally


def _events(data: BotData) -> dict[str, Event]:
    return {event.id: event for event in data.knowledge.events}


def begun(digest: Digest, events: Mapping[str, Event], *, now: datetime) -> bool:
    """Whether the event a reminder or notice is about has begun: too late to send it."""
    event = events.get(digest.event_id or "")
    kinds = (REMINDER, CHANGED, RESTORED)
    return digest.kind in kinds and event is not None and now >= event.starts_at


def stale(digest: Digest, events: Mapping[str, Event]) -> str | None:
    """Why a reminder or notice no longer tells of its event as it is, if it does not: the
    event is cancelled, has moved, or has a new place or end (as storage.digests.told_otherwise
    counts them: a digest from before places were recorded, only by its start). A
    "cancelled" notice is stale once the event is on again, and "on again" once it is not."""
    event = events.get(digest.event_id or "")
    if digest.kind == CANCELLED:
        return "the event is on again" if event is not None else None
    if digest.kind not in (REMINDER, CHANGED, RESTORED):
        return None
    if event is None:
        return "the event is cancelled"
    if digest.kind == RESTORED:
        return None
    if event.starts_at != digest.starts_at:
        return "the event has moved"
    if digest.place is not None and (event.place, event.ends_at) != (
        digest.place,
        digest.ends_at,
    ):
        return "the event has a new place or end"
    return None


async def _supersede(data: BotData, digest: Digest, tally: Tally) -> list[Digest]:
    """Record the stale digest's remaining chats as superseded; what replaces it, to send."""
    now = data.clock.now()
    async with data.sessions.begin() as session:
        keys = await planning.supersede(session, data, digest, now=now)
        found = await session.scalars(select(Digest).where(Digest.id.in_(keys)))
        replacements = {replacement.id: replacement for replacement in found}
    tally.superseded += 1
    log.info("digest %s superseded by %s: %s", digest.id, keys, stale(digest, _events(data)))
    return [replacements[key] for key in keys]


async def _send_digest(data: BotData, bot: Courier, digest: Digest, tally: Tally) -> str:
    """Every pending delivery of one digest, until they are done, flood control strikes, or
    the digest goes stale: which of these it was."""
    ledger = _Ledger(data, bot, digest, tally)
    parts = split_html(digest.text)
    after: int | None = None
    async with asyncio.TaskGroup() as sends:
        while ledger.outcome is None:
            async with data.sessions() as session:
                batch = await digests.pending(session, digest_id=digest.id, after=after)
                topics = await subscriptions.topics(session, [row.chat_id for row in batch])
            if not batch:
                break
            for row in batch:
                if not await ledger.take_place():
                    break
                sends.create_task(ledger.send(row, parts, topics.get(row.chat_id)))
            after = batch[-1].chat_id
        if ledger.outcome == STOPPED:
            await ledger.give_up_after(STOP_GRACE)
    # Sends that came back while others were given up.
    await ledger.mark_returned()
    if ledger.outcome is None:
        async with data.sessions.begin() as session:
            if await digests.finish(session, digest_id=digest.id):
                log.info("digest %s sent", digest.id)
    if ledger.outcome != STOPPED:
        await ledger.progress.show()
    return ledger.outcome or SENT_ALL


class _Ledger:
    """One digest's sends and their marks, which go on side by side.

    A send takes one of in_flight() places before it starts and gives it back only once the
    ledger has it marked, so sent-but-unmarked plus sending never exceeds that: it bounds what a
    crash can repeat. Sends are marked half that many at a time, or all at once when none is
    still on its way. Each mark also reads the knowledge's revision: when an edit landed, the
    next send first checks that the digest still tells the event as it is.
    """

    def __init__(self, data: BotData, bot: Courier, digest: Digest, tally: Tally) -> None:
        self._data, self._bot, self._digest, self._tally = data, bot, digest, tally
        self.progress = Progress(data, bot, digest)
        # Why no more sends start: FLOODED, STALE or STOPPED; None while they go on.
        self.outcome: str | None = None
        places = in_flight(data.settings.limits)
        self._places = asyncio.Semaphore(places)
        self._mark_every = places // 2
        self._sending = 0
        # The tasks whose send has not come back yet.
        self._on_the_way: set[asyncio.Task[None]] = set()
        self._returned: list[tuple[Pending, _Result]] = []
        self._writing = asyncio.Lock()
        # The knowledge's revision this digest was last found current at, and whether a mark
        # has since seen another: then the next place taken checks the digest again.
        self._checked = data.knowledge_revision
        self._edited = False

    async def take_place(self) -> bool:
        """Wait for a free place; False once no more sends are to start."""
        if not await self._free_place():
            self.outcome = self.outcome or STOPPED
            return False
        if self._data.stopping.is_set():
            self.outcome = self.outcome or STOPPED
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
        stop = asyncio.ensure_future(self._data.stopping.wait())
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
        await refresh(self._data)
        self._checked, self._edited = self._data.knowledge_revision, False
        if stale(self._digest, _events(self._data)) is not None:
            self.outcome = STALE

    async def send(self, row: Pending, parts: Sequence[str], thread_id: int | None) -> None:
        task = asyncio.current_task()
        assert task is not None  # run as a task of the fan-out's group
        self._on_the_way.add(task)
        try:
            result = await _send(self._bot, row.chat_id, parts, thread_id)
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
            data, bot, digest = self._data, self._bot, self._digest
            flooded, revision = await _record(data, bot, digest, rows, results, self._tally)
            if flooded and self.outcome != STOPPED:
                self.outcome = FLOODED
            if revision != self._checked:
                # Looked into at the next place taken, between this batch of sends and the next.
                self._edited = True
            for _ in taken:
                self._places.release()
            if not data.stopping.is_set():
                await self.progress.sent(len(taken))


async def _send(
    bot: Courier, chat_id: int, parts: Sequence[str], thread_id: int | None = None
) -> _Result:
    try:
        for part in parts:
            await bot.deliver(chat_id, part, thread_id=thread_id)
    except ChatMigrated as error:
        return _Result(_MIGRATED, error.message, error.new_chat_id)
    except RetryAfter as error:
        return _Result(_FLOOD, error.message)
    except pacing.Stopped:
        return _Result(_STOPPED)
    except Forbidden as error:
        return _Result(_GONE, error.message)
    except BadRequest as error:
        if "chat not found" in error.message.lower():
            return _Result(_GONE, error.message)
        return _Result(_REFUSED, error.message)
    except TelegramError as error:
        return _Result(_RETRY, error.message)
    except Exception as error:
        # Not Telegram's answer: a bug or a broken connection. The row stays pending.
        log.exception("sending a digest to %s failed", chat_id)
        return _Result(_RETRY, repr(error))
    return _Result(_SENT)


def _mark(row: Pending, result: _Result) -> Mark | None:
    """The ledger's record of a send; None leaves the row as it is (flood control)."""
    if result.kind == _SENT:
        return Mark(row.chat_id, SENT)
    if result.kind in (_GONE, _REFUSED, _MIGRATED):
        return Mark(row.chat_id, FAILED, result.error)
    if result.kind == _RETRY:
        gave_up = row.attempts + 1 >= MAX_ATTEMPTS
        return Mark(row.chat_id, FAILED if gave_up else PENDING, result.error)
    return None


async def _record(
    data: BotData,
    bot: Courier,
    digest: Digest,
    chunk: Sequence[Pending],
    results: Sequence[_Result],
    tally: Tally,
) -> tuple[bool, int]:
    """Mark a chunk's sends, deactivate and migrate chats: whether flood control struck, and
    the knowledge's revision as the marks were written."""
    marks: list[Mark] = []
    gone: list[Mark] = []
    moves: list[tuple[int, int]] = []
    for row, result in zip(chunk, results, strict=True):
        if result.kind == _MIGRATED and result.new_chat_id is not None:
            # The row itself moves to the new id, still pending, and is sent there below.
            moves.append((row.chat_id, result.new_chat_id))
            continue
        mark = _mark(row, result)
        if mark is None:
            continue
        marks.append(mark)
        if result.kind == _GONE:
            gone.append(mark)
    now = data.clock.now()
    async with data.sessions.begin() as session:
        await digests.mark(session, digest_id=digest.id, marks=marks, now=now)
        for mark in gone:
            await chats.deactivate(
                session, chat_id=mark.chat_id, reason=mark.error or "gone", now=now
            )
        for old, new in moves:
            await chats.migrate_chat(session, old=old, new=new, now=now)
        revision = await knowledge.revision(session)
    _count(tally, marks, gone)
    for old, new in moves:
        log.info("chat %s is now %s", old, new)
        tally.migrated += 1
        await _resend(data, bot, digest, new, tally)
    return any(result.kind == _FLOOD for result in results), revision


async def _resend(data: BotData, bot: Courier, digest: Digest, chat_id: int, tally: Tally) -> None:
    """Send once more, to a group's new id (at the next start, if the bot is stopping)."""
    if data.stopping.is_set():
        return
    async with data.sessions() as session:
        status = await digests.delivery_status(session, digest_id=digest.id, chat_id=chat_id)
    if status != PENDING:
        # The new id had its own row for this digest, which its own turn takes care of.
        return
    result = await _send(bot, chat_id, split_html(digest.text))
    # A second migration is failed, not followed; a passing error is retried on later ticks.
    mark = _mark(Pending(chat_id, attempts=0), result)
    if mark is None:
        return
    now = data.clock.now()
    async with data.sessions.begin() as session:
        await digests.mark(session, digest_id=digest.id, marks=[mark], now=now)
        if result.kind == _GONE:
            await chats.deactivate(session, chat_id=chat_id, reason=mark.error or "", now=now)
    _count(tally, [mark], [mark] if result.kind == _GONE else [])


def _count(tally: Tally, marks: Sequence[Mark], gone: Sequence[Mark]) -> None:
    tally.sent += sum(mark.status == SENT for mark in marks)
    tally.failed += sum(mark.status == FAILED for mark in marks)
    tally.deactivated += len(gone)
    for mark in marks:
        if mark.status == FAILED:
            log.warning("digest to %s failed: %s", mark.chat_id, mark.error)
