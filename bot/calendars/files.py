"""Events as an iCalendar file (RFC 5545) for a reader's own calendar, in the reader's language.

A calendar keeps what it imports, so each event is written to be known again when it comes
back: its UID never changes, and its SEQUENCE counts the changes of its row (``Event.version``,
SQLAlchemy's version counter, which every writer raises: curators' edits, cancellations and
reverts, imports, content syncs), so a later file's copy replaces an earlier one, and a
cancellation (STATUS:CANCELLED) reaches a calendar that has the event. Dates are as precise as
the source: a time in the event's own zone, with a VTIMEZONE made from the zone data; a day as
an all-day event; a month not at all, since a calendar cannot hold an event without its day.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar
from icalendar import Event as CalendarEvent
from icalendar.enums import STATUS

from bot import rendering
from bot.reader.wording import Wording
from bot.texts import Html, Texts
from storage.knowledge import Knowledge
from storage.models import Event, Source

# After the event's id in its UID: fixed, so that every file names an event the same way.
UID_DOMAIN = "coopbot"
PRODID = "-//coopbot//JINR-Kazakhstan cooperation events//EN"
# Our own markup: every piece of data in it is escaped, so a "<" always opens one of our tags.
_TAG = re.compile(r"<[^>]*>")


def in_calendar(event: Event) -> bool:
    """Whether a calendar can hold the event: not if its source gives only the month."""
    return event.precision != "month"


def uid(event: Event) -> str:
    """The event's UID, the same in every file: how a calendar recognises it."""
    return f"{event.id}@{UID_DOMAIN}"


def sequence(event: Event) -> int:
    """How many times the event has changed since it was added: 0 for one never changed."""
    return event.version - 1


def calendar_file(t: Texts, known: Knowledge, events: Sequence[Event], *, now: datetime) -> bytes:
    """One .ics file of the events a calendar can hold, its texts in ``t``'s language; an
    event known only to the month is left out, and the caller says so."""
    calendar = Calendar()
    calendar.prodid = PRODID
    calendar.version = "2.0"
    # A published copy to keep, not an invitation to answer.
    calendar.method = "PUBLISH"
    calendar.calendar_name = plain(t("calendar.name"))
    kept = [event for event in events if in_calendar(event)]
    for event in kept:
        calendar.add_component(_entry(t, known, event, now=now))
    if kept:
        # The zones' rules for the years the events fall in, not for 1970-2038: a smaller file.
        first, last = _years(kept)
        calendar.add_missing_timezones(first_date=first, last_date=last)
    written: bytes = calendar.to_ical()
    return written


def _entry(t: Texts, known: Knowledge, event: Event, *, now: datetime) -> CalendarEvent:
    zone = ZoneInfo(event.zone)
    start = event.starts_at.astimezone(zone)
    end = event.ends_at.astimezone(zone) if event.ends_at else None
    begins: date | datetime = start
    ends: date | datetime | None = end if end and end > start else None
    if event.precision == "day":
        # All day, from the first day to the day after the last (DTEND is exclusive).
        begins = start.date()
        ends = (end or start).date() + timedelta(days=1)
    # With no end given, none is made up: RFC 5545 lets a VEVENT have DTSTART alone.
    sources = known.sources_of([event])
    # The reader's language where the record is translated; a calendar shows plain text, so
    # our translations go unmarked there.
    w = Wording(t, known)
    return CalendarEvent.new(
        uid=uid(event),
        sequence=sequence(event),
        stamp=now,
        last_modified=event.updated_at,
        start=begins,
        end=ends,
        summary=w.text(event, "title"),
        location=w.text(event, "place"),
        description=_description(t, w.text(event, "description"), sources),
        status=STATUS.CANCELLED if event.status == "cancelled" else STATUS.CONFIRMED,
        url=sources[0].url if sources and sources[0].url else None,
    )


def _description(t: Texts, text: str, sources: Sequence[Source]) -> str:
    """The event's description, then its source as the cards name it, and the address: many
    calendars show the description and not the URL."""
    parts = [text]
    if sources:
        cited = plain(rendering.source_line(t, sources, language=t.language))
        parts.append("\n".join([cited, *([sources[0].url] if sources[0].url else [])]))
    return "\n\n".join(parts)


def _years(events: Sequence[Event]) -> tuple[date, date]:
    """From the year before the first event's to two years after the last one's end: every
    moment of the file in every event's zone, whichever side of a new year it falls on."""
    starts = [event.starts_at.year for event in events]
    ends = [(event.ends_at or event.starts_at).year for event in events]
    return date(min(starts) - 1, 1, 1), date(max(ends) + 2, 1, 1)


def plain(markup: Html) -> str:
    """Our HTML as the plain text a calendar shows: tags dropped, entities read back."""
    return html.unescape(_TAG.sub("", markup))
