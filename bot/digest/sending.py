"""The fan-out: every open digest from the ledger, oldest first, each through a window of sends.

The rows were written before any send; bot/digest/sends.py sends a digest a batch of chats at a
time, each in its language and zone, and marks every send, so a crash repeats at most
in_flight() of them. Only rows due by now go: a reminder of a day waits for 09:00 in each chat's
zone, and one whose chat unsubscribed meanwhile is given up then. Flood control that
gets past PTB's rate limiter ends the tick and leaves the rest pending for the next. An edit to
the event that makes a reminder or notice stale, noticed between batches of sends, supersedes it
with what tells the event as it is (bot/digest/planning.py); one whose event has begun is given
up. Once the bot begins to stop, no send starts; those on their way get STOP_GRACE to come back
and be marked, and the rest stays pending for the next start. Sends are paced by the app's rate
limiter (bot/telegram/pacing.py) at low priority, behind replies to users. A broadcast's
progress message is edited as its sends go (bot/digest/progress.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from bot import logs
from bot.digest import planning
from bot.digest.engine import Engine
from bot.digest.sends import Counted, Outcome, Window, Words
from bot.telegram import pacing
from bot.telegram.courier import Courier
from storage import digest_texts, ledger, subscriptions
from storage.bot_models import Digest
from storage.digests import Kind
from storage.models import Event

log = logging.getLogger(__name__)

# Once the bot begins to stop, sends already on their way get this many seconds to come back
# and be marked; those still out are then given up, left pending for the next start (they may
# have arrived: at most in_flight() of them go twice). Docker and systemd wait 10 s or more.
STOP_GRACE = 2.0
# The kinds that tell of an event as it is: they no longer apply once it has begun or changed.
_ABOUT_EVENTS = (Kind.REMINDER, Kind.CHANGED, Kind.RESTORED)


@dataclass
class Tally(Counted):
    """What one fan-out did, for the log and for tests."""

    # Digests whose event began before they were all sent.
    expired: int = 0
    # Digests whose event moved, was cancelled or changed place or end before they were all
    # sent, and were replaced by what tells it as it is.
    superseded: int = 0
    # Flood control ended the fan-out early; the rest goes on the next tick.
    interrupted: bool = False
    # The bot began to stop; the rest goes at the next start.
    stopped: bool = False


async def fan_out(engine: Engine, bot: Courier) -> Tally:
    """Send every open digest's pending deliveries, oldest digest first.

    One opened meanwhile (a broadcast confirmed during the pass) goes out on the tick's next
    round: bot/digest/ticker.py's Ticker goes round again when asked while it runs. What
    replaces a digest that went stale goes out next, in this pass.
    """
    tally = Tally()
    async with engine.sessions() as session:
        todo = deque(await ledger.open_digests(session))
    # Low priority: a reply to someone's command goes before the next digest send.
    with pacing.low_priority(), pacing.until(engine.stopping):
        while todo:
            if engine.stopping.is_set():
                tally.stopped = True
                break
            digest = todo.popleft()
            now = engine.clock.now()
            events = _events(engine)
            if begun(digest, events, now=now):
                async with engine.sessions.begin() as session:
                    await ledger.skip_pending(
                        session, digest_id=digest.id, reason="the event has begun", now=now
                    )
                    await ledger.finish(session, digest_id=digest.id)
                tally.expired += 1
                log.info("digest %s no longer applies: the event has begun", digest.id)
                continue
            if stale(digest, events) is None:
                with logs.about_digest(digest.id):
                    outcome = await _send_digest(engine, bot, digest, tally)
                if outcome == Outcome.FLOODED:
                    tally.interrupted = True
                    break
                if outcome == Outcome.STOPPED:
                    tally.stopped = True
                    break
                if outcome != Outcome.STALE:
                    continue
            todo.extendleft(reversed(await _supersede(engine, digest, tally)))
    return tally


def _events(engine: Engine) -> dict[str, Event]:
    return {event.id: event for event in engine.knowledge().events}


def begun(digest: Digest, events: Mapping[str, Event], *, now: datetime) -> bool:
    """Whether the event a reminder or notice is about has begun: too late to send it."""
    event = events.get(digest.event_id or "")
    return digest.kind in _ABOUT_EVENTS and event is not None and now >= event.starts_at


def stale(digest: Digest, events: Mapping[str, Event]) -> str | None:
    """Why a reminder or notice no longer tells of its event as it is, if it does not: the
    event is cancelled, has moved, or has a new place or end (as storage.notices.told_otherwise
    counts them: a digest from before places were recorded, only by its start). A
    "cancelled" notice is stale once the event is on again, and "on again" once it is not."""
    event = events.get(digest.event_id or "")
    if digest.kind == Kind.CANCELLED:
        return "the event is on again" if event is not None else None
    if digest.kind not in _ABOUT_EVENTS:
        return None
    if event is None:
        return "the event is cancelled"
    if digest.kind == Kind.RESTORED:
        return None
    if event.starts_at != digest.starts_at:
        return "the event has moved"
    if digest.place is not None and (event.place, event.ends_at) != (
        digest.place,
        digest.ends_at,
    ):
        return "the event has a new place or end"
    return None


async def _supersede(engine: Engine, digest: Digest, tally: Tally) -> list[Digest]:
    """Record the stale digest's remaining chats as superseded; what replaces it, to send."""
    now = engine.clock.now()
    async with engine.sessions.begin() as session:
        keys = await planning.supersede(session, engine, digest, now=now)
        found = await session.scalars(select(Digest).where(Digest.id.in_(keys)))
        replacements = {replacement.id: replacement for replacement in found}
    tally.superseded += 1
    log.info("digest %s superseded by %s: %s", digest.id, keys, stale(digest, _events(engine)))
    return [replacements[key] for key in keys]


async def _send_digest(engine: Engine, bot: Courier, digest: Digest, tally: Tally) -> Outcome:
    """Every pending delivery of one digest, until they are done, flood control strikes, or
    the digest goes stale: which of these it was."""
    # What is due by now goes: a chat whose hour comes later, at a later tick.
    now = engine.clock.now()
    async with engine.sessions.begin() as session:
        if digest.kind == Kind.REMINDER and digest.lead is not None:
            await ledger.skip_unsubscribed(
                session,
                digest_id=digest.id,
                lead=digest.lead,
                channel_id=engine.settings.channel_id,
                now=now,
            )
        words = Words.of(digest.text, await digest_texts.texts_of(session, digest_id=digest.id))
    window = Window(
        engine, bot, digest, tally, words, stale=lambda: stale(digest, _events(engine)) is not None
    )
    after: int | None = None
    async with asyncio.TaskGroup() as sends:
        while window.outcome is None:
            async with engine.sessions() as session:
                batch = await ledger.pending(session, digest_id=digest.id, now=now, after=after)
                topics = await subscriptions.topics(session, [row.chat_id for row in batch])
            if not batch:
                break
            for row in batch:
                if not await window.take_place():
                    break
                sends.create_task(window.send(row, topics.get(row.chat_id)))
            after = batch[-1].chat_id
        if window.outcome == Outcome.STOPPED:
            await window.give_up_after(STOP_GRACE)
    # Sends that came back while others were given up.
    await window.mark_returned()
    if window.outcome is None:
        async with engine.sessions.begin() as session:
            if await ledger.finish(session, digest_id=digest.id):
                log.info("digest %s sent", digest.id)
    if window.outcome != Outcome.STOPPED:
        await window.progress.show()
    return window.outcome or Outcome.SENT_ALL
