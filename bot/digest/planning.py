"""On each tick, the digests that have become due, written with their ledgers in one go.

Everything is decided from the event rows and the ledger, by the injected clock: nothing rests
on a job stored in a scheduler, so an edit to an event, or hours of downtime, are seen on the
next tick. Keys make planning idempotent: the same thing planned twice is created once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest import words
from bot.digest.due import (
    LATE_AFTER_TICKS,
    latest_fire,
    reminder_moments,
    reminders_due,
    summary_since,
    summary_trigger,
)
from bot.digest.engine import Engine
from bot.durations import format_duration, parse_duration
from bot.settings import LONGEST_LEAD_TIME
from bot.texts import texts_for
from storage import digests, ledger, notices
from storage.bot_models import Digest
from storage.digests import DeliveryStatus, DigestStatus, Kind, NewDigest
from storage.models import Event


async def plan(session: AsyncSession, engine: Engine, *, now: datetime) -> int:
    """Create every digest due at ``now``, with its deliveries; how many are to be sent.

    Notices go first so that, for a moved event, "it moved" is created before the reminder
    for its new time.
    """
    created = len(await _notices(session, engine, now=now))
    created += await _reminders(session, engine, now=now)
    created += await _summary(session, engine, now=now)
    return created


async def supersede(
    session: AsyncSession, engine: Engine, stale: Digest, *, now: datetime
) -> list[str]:
    """Replace a reminder or notice that no longer tells the event as it is, mid-way or before
    it began; the keys of the digests that replace it, in the order they go.

    The chats it did not reach are recorded as superseded. Every chat told otherwise than the
    event now is, those it reached included, gets the notice of the change (or of the
    cancellation), planned as any tick would; the chats it did not reach get the reminder as it
    would have been written now, unless the event moved: then its reminders follow the new start.
    So no chat gets the stale words after the change, and none is told the change twice.
    """
    await ledger.supersede(session, digest_id=stale.id, now=now)
    created = await _notices(session, engine, now=now)
    known = engine.knowledge()
    event = next((e for e in known.events if e.id == stale.event_id), None)
    if (
        stale.kind != Kind.REMINDER
        or stale.lead is None
        or event is None
        or event.starts_at != stale.starts_at
        or now >= event.starts_at
    ):
        return created
    key = digests.replacement_key(stale.id, event)
    late_since = now if stale.late else None
    lead = parse_duration(stale.lead, longest=LONGEST_LEAD_TIME)
    text = words.reminder(texts_for(None), known, event, lead=lead, late_since=late_since)
    replacement = _reminder(
        event, key=key, due_at=stale.due_at, lead=stale.lead, text=text, late=stale.late
    )
    if not await digests.create(session, digest=replacement, now=now):
        return created
    channel = engine.settings.channel_id
    channel_missed = channel is not None and (
        await ledger.delivery_status(session, digest_id=stale.id, chat_id=channel)
        == DeliveryStatus.SUPERSEDED
    )
    await digests.fill(
        session,
        digest_id=key,
        audience=digests.not_reached(stale.id, stale.lead),
        channel_id=channel if channel_missed else None,
        now=now,
    )
    return [*created, key]


async def _notices(session: AsyncSession, engine: Engine, *, now: datetime) -> list[str]:
    """Notices of cancelled, restored and changed events to those told of them otherwise."""
    created = []
    for event in await notices.cancelled_events(session):
        created.append(await _notice(session, engine, event, kind=Kind.CANCELLED, now=now))
    for event in await notices.restored_events(session, now=now):
        created.append(await _notice(session, engine, event, kind=Kind.RESTORED, now=now))
    for event in await notices.changed_events(session, now=now):
        created.append(await _notice(session, engine, event, kind=Kind.CHANGED, now=now))
    return [key for key in created if key is not None]


async def _notice(
    session: AsyncSession, engine: Engine, event: Event, *, kind: Kind, now: datetime
) -> str | None:
    t, known = texts_for(None), engine.knowledge()
    if kind in (Kind.CANCELLED, Kind.RESTORED):
        key = digests.fate_key(kind, event.id, await notices.fates_of(session, event.id))
    if kind == Kind.CANCELLED:
        text = words.cancelled(t, known, event)
        audience = notices.notice_audience(event.id)
    elif kind == Kind.RESTORED:
        text = words.restored(t, known, event)
        audience = notices.told_cancelled(event.id)
    else:
        key = digests.changed_key(event, await notices.notices_of(session, event.id))
        before = await notices.last_told(session, event)
        text = words.changed(t, known, event, before=before)
        audience = notices.notice_audience(event.id, unless_told=event)
    notice = NewDigest(
        key=key,
        kind=kind,
        due_at=now,
        text=text,
        event_id=event.id,
        starts_at=event.starts_at,
        place=event.place,
        ends_at=event.ends_at,
    )
    if not await digests.create(session, digest=notice, now=now):
        return None
    await _fill(session, engine, key, audience, now=now)
    return key


async def _reminders(session: AsyncSession, engine: Engine, *, now: datetime) -> int:
    settings, known = engine.settings, engine.knowledge()
    longest = max(settings.lead_times, default=timedelta(0))
    # Events whose first reminder is due, up to those that began within the longest lead:
    # an event that began during downtime gets its missed reminders recorded as skipped. A day
    # more on the early side, for an event known only to its day (reminded at CIVIL_HOUR).
    events = [
        event
        for event in known.events
        if event.starts_at - longest - timedelta(days=1) <= now < event.starts_at + longest
    ]
    keys = await digests.reminder_keys(session, event_ids=[event.id for event in events])
    t = texts_for(None)
    created = 0
    for event in events:
        moments = reminder_moments(event, settings.lead_times)
        made = {
            lead
            for lead in moments
            if digests.reminder_key(event.id, format_duration(lead), event.starts_at) in keys
        }
        due = reminders_due(
            event.starts_at,
            moments=moments,
            created=made,
            now=now,
            tick=settings.tick,
            known_since=event.scheduled_since,
        )
        for reminder in due:
            lead = format_duration(reminder.lead)
            key = digests.reminder_key(event.id, lead, event.starts_at)
            text = ""
            if reminder.send:
                late_since = now if reminder.late else None
                text = words.reminder(t, known, event, lead=reminder.lead, late_since=late_since)
            new = _reminder(
                event,
                key=key,
                due_at=reminder.due_at,
                lead=lead,
                text=text,
                late=reminder.late,
                status=DigestStatus.OPEN if reminder.send else DigestStatus.SKIPPED,
            )
            if await digests.create(session, digest=new, now=now) and reminder.send:
                await _fill(session, engine, key, digests.reminder_audience(lead), now=now)
                created += 1
    return created


async def _summary(session: AsyncSession, engine: Engine, *, now: datetime) -> int:
    """The summary for the latest fire time since the last one, if it has anything new.

    Fire times missed in between are folded into it: it reports everything since the last
    summary. The very first one reports since the fire time before it.
    """
    settings, known = engine.settings, engine.knowledge()
    trigger = summary_trigger(settings.summary, engine.zone)
    last = await digests.last_summary_at(session)
    fire = latest_fire(trigger, until=now, after=last)
    if fire is None:
        return 0
    since = summary_since(trigger, fire=fire, last=last, seeded=known.first_loaded())
    text = words.summary(
        texts_for(None), known, since=since, until=fire, now=now, zone=engine.zone
    )
    key = digests.summary_key(fire.astimezone(UTC))
    summary = NewDigest(
        key=key,
        kind=Kind.SUMMARY,
        due_at=fire,
        text=text or "",
        late=now - fire > LATE_AFTER_TICKS * settings.tick,
        status=DigestStatus.OPEN if text else DigestStatus.SKIPPED,
    )
    if not await digests.create(session, digest=summary, now=now) or text is None:
        return 0
    await _fill(session, engine, key, digests.summary_audience(), now=now)
    return 1


async def _fill(
    session: AsyncSession,
    engine: Engine,
    key: str,
    audience: digests.Audience,
    *,
    now: datetime,
) -> None:
    await digests.fill(
        session,
        digest_id=key,
        audience=audience,
        channel_id=engine.settings.channel_id,
        now=now,
    )


def _reminder(
    event: Event,
    *,
    key: str,
    due_at: datetime,
    lead: str | None,
    text: str,
    late: bool,
    status: DigestStatus = DigestStatus.OPEN,
) -> NewDigest:
    """A reminder of an event, with the event as it is told (start, place, end), so that a
    later change to it can be seen and told."""
    return NewDigest(
        key=key,
        kind=Kind.REMINDER,
        due_at=due_at,
        text=text,
        event_id=event.id,
        lead=lead,
        starts_at=event.starts_at,
        place=event.place,
        ends_at=event.ends_at,
        late=late,
        status=status,
    )
