"""What is due when: reminder moments and summary fire times, from the clock's now alone.

Nothing here reads a wall clock or keeps a schedule: each tick asks afresh, so an event edited
in the database is reminded at its new time, and a tick after downtime sees everything missed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

# A reminder created more than this many ticks after its moment is marked late.
LATE_AFTER_TICKS = 2
# For a day or a month we do not know the hour, so "in 1 hour" would claim too much.
_FINEST_LEAD = {"minute": timedelta(0), "day": timedelta(days=1), "month": timedelta(days=1)}
# Such an event "starts" at midnight; its reminders go out at this hour of each reader's zone on
# the day they fall on, rather than waking people at midnight.
CIVIL_HOUR = time(9, 0)
# The world's earliest clock, UTC+14 (Kiribati's; POSIX signs are reversed): no reader's
# CIVIL_HOUR on a day comes before its.
EARLIEST_ZONE = "Etc/GMT-14"
# latest_fire looks back this far first, then eight times as far, up to the longest.
_FIRST_LOOK_BACK = timedelta(hours=1)
_LONGEST_LOOK_BACK = timedelta(days=5 * 366)


@dataclass(frozen=True)
class Reminder:
    """A reminder to create now: sent, or only recorded as skipped."""

    lead: timedelta
    due_at: datetime
    send: bool
    late: bool


def leads_for(precision: str, configured: Sequence[timedelta]) -> list[timedelta]:
    """The configured leads that make sense for an event known to this precision."""
    finest = _FINEST_LEAD.get(precision, timedelta(0))
    return [lead for lead in configured if lead >= finest]


class Scheduled(Protocol):
    """What reminders need of an event (storage.models.Event has it)."""

    @property
    def starts_at(self) -> datetime: ...

    @property
    def precision(self) -> str: ...

    @property
    def zone(self) -> str: ...


class Listed(Scheduled, Protocol):
    """An event as a list of reminders names it: by its id, among others."""

    @property
    def id(self) -> str: ...


E = TypeVar("E", bound=Listed)


def zoned_moments(
    event: Scheduled, configured: Sequence[timedelta], zones: Collection[str] = ()
) -> dict[timedelta, dict[str, datetime]]:
    """When each of an event's reminders is due for the readers of each zone, by lead: `lead`
    before its start wherever they are, or, for an event known only to the day or month, at
    CIVIL_HOUR theirs on the day that falls on, as the event's zone counts days. Without
    ``zones``, for readers in the event's own.
    """
    leads = leads_for(event.precision, configured)
    zones = zones or (event.zone,)
    if event.precision == "minute":
        return {lead: dict.fromkeys(zones, event.starts_at - lead) for lead in leads}
    local_start = event.starts_at.astimezone(ZoneInfo(event.zone))
    # Wall-clock arithmetic: a day before 1 December is 30 November, whatever DST does.
    days = {lead: (local_start - lead).date() for lead in leads}
    return {
        lead: {
            zone: datetime.combine(day, CIVIL_HOUR, tzinfo=ZoneInfo(zone)).astimezone(UTC)
            for zone in zones
        }
        for lead, day in days.items()
    }


def reminder_moments(
    event: Scheduled, configured: Sequence[timedelta], zones: Collection[str] = ()
) -> dict[timedelta, datetime]:
    """When each of an event's reminders is first due, by lead: for the earliest of the
    readers' ``zones`` (see zoned_moments)."""
    return {lead: min(at.values()) for lead, at in zoned_moments(event, configured, zones).items()}


def is_late(due_at: datetime, *, created: datetime, tick: timedelta) -> bool:
    """Whether a digest made at ``created`` for ``due_at`` is late: more than LATE_AFTER_TICKS
    ticks after."""
    return created - due_at > LATE_AFTER_TICKS * tick


def not_for(due_at: datetime, *, starts_at: datetime, known_since: datetime | None) -> str | None:
    """Why the readers whose reminder is due at ``due_at`` are not sent it, if they are not:
    their hour comes once the event has begun, or came before it was scheduled (they are not
    told late of an event added late, as reminders_due skips such a reminder for everyone)."""
    if due_at >= starts_at:
        return "due once the event has begun"
    if known_since is not None and due_at < known_since:
        return "due before the event was scheduled"
    return None


def reminders_due(
    starts_at: datetime,
    *,
    moments: Mapping[timedelta, datetime],
    created: Collection[timedelta],
    now: datetime,
    tick: timedelta,
    known_since: datetime | None = None,
    last: Mapping[timedelta, datetime] | None = None,
) -> list[Reminder]:
    """The reminders to create for an event now, longest lead first, by their first moments.

    Only the latest due moment (the smallest due lead) is worth sending: the earlier ones that
    were missed, e.g. while the bot was down, are recorded as skipped so the ledger shows them.
    Once the event has begun, every missed one is skipped. So is one whose moment came before
    the event was scheduled with this start (``known_since``): an event added or moved late is
    not announced by a burst of "late" reminders, only by those still ahead. A reminder due in
    each reader's zone at their own hour is missed only if the ``last`` of those moments was.
    """
    due = [lead for lead, moment in moments.items() if moment <= now]
    if not due:
        return []
    last = last or moments
    missed = {lead for lead in due if known_since is not None and last[lead] < known_since}
    latest = min(set(due) - missed, default=None)
    result = []
    for lead in sorted(due, reverse=True):
        if lead in created:
            continue
        moment = moments[lead]
        send = lead == latest and now < starts_at
        late = send and is_late(moment, created=now, tick=tick)
        result.append(Reminder(lead=lead, due_at=moment, send=send, late=late))
    return result


def next_reminder(
    moments: Mapping[timedelta, datetime], *, now: datetime
) -> tuple[timedelta, datetime] | None:
    """The event's next reminder still ahead: its lead and moment."""
    ahead = [(moment, lead) for lead, moment in moments.items() if moment > now]
    if not ahead:
        return None
    moment, lead = min(ahead)
    return lead, moment


def upcoming_reminders(
    events: Iterable[E],
    configured: Sequence[timedelta],
    *,
    now: datetime,
    zones: Collection[str] = (),
) -> list[tuple[datetime, timedelta, E]]:
    """Each event's next reminder still ahead, as (moment, lead, event), soonest first; at one
    moment, the event that starts first (then by id), as the events are listed. For readers
    in ``zones`` (see zoned_moments)."""
    found = []
    for event in events:
        ahead = next_reminder(reminder_moments(event, configured, zones), now=now)
        if ahead is not None:
            found.append((ahead[1], ahead[0], event))
    return sorted(found, key=lambda item: (item[0], item[2].starts_at, item[2].id))


def summary_trigger(crontab: str, zone: ZoneInfo) -> CronTrigger:
    """The summary's schedule, in the configured zone: 09:00 stays 09:00 across DST changes."""
    return CronTrigger.from_crontab(crontab, timezone=zone)


def next_fire(trigger: CronTrigger, *, after: datetime) -> datetime | None:
    """The first fire time strictly after ``after``."""
    fire: datetime | None = trigger.get_next_fire_time(after, after)
    return fire


def summary_since(
    trigger: CronTrigger, *, fire: datetime, last: datetime | None, seeded: datetime | None
) -> datetime:
    """Where the summary that fires at ``fire`` reports from: the last summary; for the first,
    the fire time before it, but not before the record was first loaded (``seeded``: what came
    with the bot is the record, not news)."""
    if last is not None:
        return last
    previous = latest_fire(trigger, until=fire - timedelta(microseconds=1))
    return max((at for at in (previous, seeded) if at is not None), default=fire)


def latest_fire(
    trigger: CronTrigger, *, until: datetime, after: datetime | None = None
) -> datetime | None:
    """The latest fire time in (after, until], or None.

    APScheduler only counts forward, so this looks back a window at a time, widening it
    eightfold while it holds no fire time: a minutely crontab costs a few steps, a yearly one
    a few more, and a long downtime never walks every missed minute.
    """
    window = _FIRST_LOOK_BACK
    while True:
        start = until - window
        bounded = after is not None and start <= after
        fire: datetime | None
        if bounded:
            assert after is not None
            fire = next_fire(trigger, after=after)
        else:
            fire = trigger.get_next_fire_time(None, start)
        if fire is not None and fire <= until:
            while (following := next_fire(trigger, after=fire)) is not None and following <= until:
                fire = following
            return fire
        if bounded or window > _LONGEST_LOOK_BACK:
            return None
        window *= 8
