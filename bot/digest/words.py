"""The words of each digest: reminders, notices of a moved or cancelled event, the summary.

Each is written for readers of one language (``t``) and one zone (``reader``, an IANA name):
times in the event's zone and, where their clock differs, in theirs; countdowns by their
calendar; the record's own words in ``t``'s language where they are translated
(bot/reader/wording.py), from the knowledge each function is given. A digest is rendered once per
language and zone among its chats when it is created, and stored with it, so every recipient
(and a resend after a crash) gets the same words.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.lists import format_list

from bot.durations import format_duration
from bot.reader.dates import (
    babel_locale,
    countdown,
    date_of,
    day_of,
    moment_of,
    readable,
    span,
    time_of,
    when,
    zone_label,
)
from bot.reader.wording import Wording
from bot.rendering import event_line, role_text, source_line
from bot.texts import Html, Texts, join
from storage.knowledge import Knowledge
from storage.models import Agreement, Event, Fact, Role
from storage.notices import Told

# Items per summary section; the rest are counted, and /facts or /events shows them.
SUMMARY_ITEMS = 10
# Events shown as coming up in a summary.
COMING_ITEMS = 5


def _sources(w: Wording, event: Event) -> Html:
    return w.footer(source_line(w.t, w.known.sources_of([event]), language=w.language))


def reminder(
    t: Texts,
    known: Knowledge,
    event: Event,
    *,
    lead: timedelta,
    late_since: datetime | None,
    reader: str,
) -> Html:
    """ "In 1 day" and the event; a late one counts down from ``late_since`` and says so."""
    w = Wording(t, known)
    line = event_line(w, event, language=t.language, reader=reader)
    if late_since is None:
        left = span(lead, language=t.language)
    elif event.precision == "minute":
        left = countdown(event.starts_at - late_since, precision="minute", language=t.language)
    else:
        # In days as the reader's calendar counts them, to the event's day (a month's first).
        today = late_since.astimezone(ZoneInfo(reader)).date()
        day = event.starts_at.astimezone(ZoneInfo(event.zone)).date()
        left = countdown(timedelta(days=(day - today).days), precision="day", language=t.language)
    sources = _sources(w, event)
    if event.precision == "month":
        text = t("digest.reminder_month", left=left, event=line, sources=sources)
    else:
        text = t("digest.reminder", left=left, event=line, sources=sources)
    if late_since is None:
        return text
    return join([text, t("digest.late")], "\n\n")


def changed(t: Texts, known: Knowledge, event: Event, *, before: Told | None, reader: str) -> Html:
    """What changed since subscribers were last told, old → new, then the event as it is."""
    differences = _differences(t, event, before, reader) if before is not None else []
    fields = format_list(
        [field for field, _ in differences] or [t("digest.field.date")],
        locale=babel_locale(t.language),
    )
    lines = [line for _, line in differences]
    if before is None or before.starts_at != event.starts_at:
        lines.append(t("digest.changed_follow"))
    w = Wording(t, known)
    line = event_line(w, event, language=t.language, reader=reader)
    sources = _sources(w, event)
    return t("digest.changed", fields=fields, changes=join(lines), event=line, sources=sources)


def _differences(t: Texts, event: Event, before: Told, reader: str) -> list[tuple[Html, Html]]:
    """(field, "old → new") for each of date, time, place and end not as it was told; a
    time in the reader's zone too where their clock shows another ("10:00 Almaty · 08:00
    Dubna")."""
    zone, precision, language = event.zone, event.precision, t.language

    def date(at: datetime) -> str:
        return date_of(at, precision=precision, zone=zone, language=language)

    def wall(at: datetime, where: str) -> str:
        return time_of(at, zone=where, language=language)

    def time(at: datetime) -> str:
        if readable(reader) and any(
            wall(moment, reader) != wall(moment, zone)
            for moment in (before.starts_at, event.starts_at)
        ):
            here, there = (
                zone_label(zone, language=language),
                zone_label(reader, language=language),
            )
            return f"{wall(at, zone)} {here} · {wall(at, reader)} {there}"
        return wall(at, zone)

    def point(at: datetime | None) -> str:
        if at is None:
            return str(t("digest.no_end"))
        return moment_of(at, precision=precision, zone=zone, language=language)

    old, new = before.starts_at, event.starts_at
    found = []
    if date(old) != date(new):
        found.append(
            (t("digest.field.date"), t("digest.change.date", before=date(old), after=date(new)))
        )
    if precision == "minute" and time(old) != time(new):
        found.append(
            (t("digest.field.time"), t("digest.change.time", before=time(old), after=time(new)))
        )
    if not found and old != new:
        found.append(
            (t("digest.field.date"), t("digest.change.date", before=point(old), after=point(new)))
        )
    if before.place is not None and before.place != event.place:
        place = t("digest.change.place", before=before.place, after=event.place)
        found.append((t("digest.field.place"), place))
    if before.ends_at != event.ends_at:
        end = t("digest.change.end", before=point(before.ends_at), after=point(event.ends_at))
        found.append((t("digest.field.end"), end))
    return found


def cancelled(t: Texts, known: Knowledge, event: Event, *, reader: str) -> Html:
    w = Wording(t, known)
    line = event_line(w, event, language=t.language, reader=reader)
    return t("digest.cancelled", event=line, sources=_sources(w, event))


def restored(t: Texts, known: Knowledge, event: Event, *, reader: str) -> Html:
    """To those told it was cancelled: it takes place after all."""
    w = Wording(t, known)
    line = event_line(w, event, language=t.language, reader=reader)
    return t("digest.restored", event=line, sources=_sources(w, event))


def _listed(t: Texts, lines: Sequence[Html]) -> Html:
    shown = list(lines[:SUMMARY_ITEMS])
    if len(lines) > SUMMARY_ITEMS:
        shown.append(t("digest.summary_more", count=len(lines) - SUMMARY_ITEMS))
    return join(shown)


def _event_item(w: Wording, event: Event, reader: str) -> Html:
    shown = when(event, language=w.language, reader=reader)
    return w.t("digest.summary_event", title=w(event, "title"), when=shown)


def summary(
    t: Texts,
    known: Knowledge,
    *,
    since: datetime,
    until: datetime,
    now: datetime,
    zone: ZoneInfo,
) -> Html | None:
    """What was added to the record or changed in (since, until]: facts, events, agreements
    and people's roles; and what is coming, for readers in ``zone``. None if nothing is new,
    since a summary of nothing is not worth a message.
    """

    def new(item: Fact | Event | Agreement | Role) -> bool:
        return since < max(item.created_at, item.updated_at) <= until

    facts = [fact for fact in known.facts if new(fact)]
    events = [event for event in known.events if new(event)]
    agreements = [item for item in known.agreements if new(item)]
    roles = [(role, known.person(role.person_id)) for role in known.roles if new(role)]
    if not (facts or events or agreements or roles):
        return None
    w = Wording(t, known)
    sections = []
    if facts:
        lines = [t("digest.summary_fact", title=w(fact, "title")) for fact in facts]
        sections.append(t("digest.summary_facts", items=_listed(t, lines)))
    if events:
        lines = [_event_item(w, event, zone.key) for event in events]
        sections.append(t("digest.summary_events", items=_listed(t, lines)))
    if agreements:
        lines = [t("digest.summary_agreement", title=w(item, "title")) for item in agreements]
        sections.append(t("digest.summary_agreements", items=_listed(t, lines)))
    if roles:
        lines = [
            t(
                "digest.summary_role",
                name=w(person, "name"),
                role=role_text(w, role),
                as_of=day_of(role.as_of, precision=role.as_of_precision, language=t.language),
            )
            for role, person in roles
            if person is not None
        ]
        sections.append(t("digest.summary_roles", items=_listed(t, lines)))
    coming = known.upcoming(now)[:COMING_ITEMS]
    if coming:
        items = join([_event_item(w, event, zone.key) for event in coming])
        sections.append(t("digest.summary_coming", items=items))
    summed = t("digest.summary", since=moment(t, since, zone), sections=join(sections, "\n\n"))
    return w.below(summed)


def moment(t: Texts, at: datetime, zone: ZoneInfo) -> str:
    """A digest's time in a zone, e.g. "Monday 30 November, 09:00"."""
    locale = babel_locale(t.language)
    return str(format_datetime(at, "EEEE d MMMM, HH:mm", tzinfo=zone, locale=locale))


def reminders_on(events: bool, lead_times: str | None, configured: Sequence[timedelta]) -> bool:
    """Whether a subscription gets reminders: asked for, at one lead time or more. With every
    lead time turned off it gets none, and every screen must say so."""
    return events and bool(wanted_leads(lead_times, configured))


def wanted_leads(lead_times: str | None, configured: Sequence[timedelta]) -> list[timedelta]:
    """A subscription's lead times among those configured (NULL: all), longest first."""
    if lead_times is None:
        return list(configured)
    wanted = set(lead_times.split(","))
    return [lead for lead in configured if format_duration(lead) in wanted]
