"""On each tick, the digests that have become due, written with their ledgers in one go.

Everything is decided from the event rows and the ledger, by the injected clock: nothing rests
on a job stored in a scheduler, so an edit to an event, or hours of downtime, are seen on the
next tick. Keys make planning idempotent: the same thing planned twice is created once. Each
digest is rendered once per language and zone among its chats (bot/digest/variants.py); a
reminder of an event known only to its day goes to each chat at 09:00 in its zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.digest import variants, words
from bot.digest.due import (
    EARLIEST_ZONE,
    Reminder,
    is_late,
    latest_fire,
    leads_for,
    not_for,
    reminder_moments,
    reminders_due,
    summary_since,
    summary_trigger,
    zoned_moments,
)
from bot.digest.engine import Engine
from bot.digest.variants import Render
from bot.durations import format_duration, parse_duration
from bot.reader.dates import readable
from bot.settings import LONGEST_LEAD_TIME
from bot.texts import Texts
from storage import digests, ledger, notices
from storage.bot_models import Digest
from storage.digests import DigestStatus, Kind, NewDigest, Readers
from storage.knowledge import Knowledge
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
    So no chat gets the stale words after the change, and none is told the change twice; each
    gets the replacement in its words, when the stale one was due to reach it.
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
    lead = parse_duration(stale.lead, longest=LONGEST_LEAD_TIME)
    # Late where the stale one was: its readers' hour had passed when it was made.
    render = _reminder_words(engine, known, event, lead, made=stale.created_at, now=now)
    text = variants.own_text(engine, render)
    replacement = _reminder(
        event, key=key, due_at=stale.due_at, lead=stale.lead, text=text, late=stale.late
    )
    if not await digests.create(session, digest=replacement, now=now):
        return created
    channel = engine.settings.channel_id
    await digests.refill(
        session, digest_id=key, stale_id=stale.id, lead=stale.lead, channel_id=channel, now=now
    )
    await variants.write(session, engine, key, render=render, text=text)
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
    known = engine.knowledge()
    render: Render
    if kind in (Kind.CANCELLED, Kind.RESTORED):
        key = digests.fate_key(kind, event.id, await notices.fates_of(session, event.id))
    if kind == Kind.CANCELLED:

        def render(t: Texts, zone: str) -> str:
            return words.cancelled(t, known, event, reader=zone)

        audience = notices.notice_audience(event.id)
    elif kind == Kind.RESTORED:

        def render(t: Texts, zone: str) -> str:
            return words.restored(t, known, event, reader=zone)

        audience = notices.told_cancelled(event.id)
    else:
        key = digests.changed_key(event, await notices.notices_of(session, event.id))
        before = await notices.last_told(session, event)

        def render(t: Texts, zone: str) -> str:
            return words.changed(t, known, event, before=before, reader=zone)

        audience = notices.notice_audience(event.id, unless_told=event)
    text = variants.own_text(engine, render)
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
    await variants.fill(session, engine, key, audience, render=render, text=text, now=now)
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
    made = {
        event.id: {
            lead
            for lead in leads_for(event.precision, settings.lead_times)
            if digests.reminder_key(event.id, format_duration(lead), event.starts_at) in keys
        }
        for event in events
    }
    # The zones readers of a day's reminder are in, asked for once, and only once one not yet
    # made may be due somewhere: its day's 09:00 has come on the earliest clock.
    zones: list[str] = []
    if any(
        moment <= now
        for event in events
        if event.precision != "minute"
        for lead, moment in reminder_moments(event, settings.lead_times, [EARLIEST_ZONE]).items()
        if lead not in made[event.id]
    ):
        zones = await _reader_zones(session, engine)
    created = 0
    for event in events:
        zoned = zoned_moments(
            event, settings.lead_times, zones if event.precision != "minute" else ()
        )
        due = reminders_due(
            event.starts_at,
            moments={lead: min(at.values()) for lead, at in zoned.items()},
            last={lead: max(at.values()) for lead, at in zoned.items()},
            created=made[event.id],
            now=now,
            tick=settings.tick,
            known_since=event.scheduled_since,
        )
        for reminder in due:
            zoned_due = zoned[reminder.lead] if event.precision != "minute" else None
            created += await _remind(session, engine, event, reminder, zoned_due, now=now)
    return created


async def _remind(
    session: AsyncSession,
    engine: Engine,
    event: Event,
    reminder: Reminder,
    zoned: dict[str, datetime] | None,
    *,
    now: datetime,
) -> int:
    """Create one reminder, sent or recorded as skipped; 1 if it is to be sent. Given its
    moment in each reader's zone, each chat's delivery is due at its zone's."""
    lead = format_duration(reminder.lead)
    key = digests.reminder_key(event.id, lead, event.starts_at)
    if not reminder.send:
        skipped = _reminder(
            event,
            key=key,
            due_at=reminder.due_at,
            lead=lead,
            text="",
            late=reminder.late,
            status=DigestStatus.SKIPPED,
        )
        await digests.create(session, digest=skipped, now=now)
        return 0
    readers = None
    late = reminder.late
    if zoned is not None:
        known_since = event.scheduled_since
        readers = [
            Readers(zone, at, not_for(at, starts_at=event.starts_at, known_since=known_since))
            for zone, at in zoned.items()
        ]
        tick = engine.settings.tick
        late = any(
            is_late(each.due_at, created=now, tick=tick) for each in readers if not each.skipped
        )
    render = _reminder_words(engine, engine.knowledge(), event, reminder.lead, made=now, now=now)
    text = variants.own_text(engine, render)
    new = _reminder(event, key=key, due_at=reminder.due_at, lead=lead, text=text, late=late)
    if not await digests.create(session, digest=new, now=now):
        return 0
    audience = digests.reminder_audience(lead)
    await variants.fill(
        session, engine, key, audience, render=render, text=text, now=now, readers=readers
    )
    return 1


def _reminder_words(
    engine: Engine,
    known: Knowledge,
    event: Event,
    lead: timedelta,
    *,
    made: datetime,
    now: datetime,
) -> Render:
    """A reminder's words for each zone's readers: late, counting down from ``now``, for
    those whose moment was more than two ticks before it was ``made``."""

    def render(t: Texts, zone: str) -> str:
        due_at = zoned_moments(event, [lead], [zone])[lead][zone]
        late = is_late(due_at, created=made, tick=engine.settings.tick)
        late_since = now if late else None
        return words.reminder(t, known, event, lead=lead, late_since=late_since, reader=zone)

    return render


async def _reader_zones(session: AsyncSession, engine: Engine) -> list[str]:
    """The zones of the chats that may get reminders, the channel's and the bot's: those it
    can read (a chat in a zone it cannot read is the bot's own zone's reader, see Readers)."""
    found = await digests.reader_zones(
        session, zone=engine.zone.key, channel_id=engine.settings.channel_id
    )
    return sorted(zone for zone in found if readable(zone))


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

    def render(t: Texts, zone: str) -> str:
        text = words.summary(t, known, since=since, until=fire, now=now, zone=ZoneInfo(zone))
        return text or ""

    text = variants.own_text(engine, render)
    key = digests.summary_key(fire.astimezone(UTC))
    summary = NewDigest(
        key=key,
        kind=Kind.SUMMARY,
        due_at=fire,
        text=text,
        late=is_late(fire, created=now, tick=settings.tick),
        status=DigestStatus.OPEN if text else DigestStatus.SKIPPED,
    )
    if not await digests.create(session, digest=summary, now=now) or not text:
        return 0
    audience = digests.summary_audience()
    await variants.fill(session, engine, key, audience, render=render, text=text, now=now)
    return 1


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
