"""Dates, times and lengths of time in the reader's language and zone, never finer than known.

Babel's locale data writes them as each language does ("2 November 2023", "2023 ж. 2 қараша");
a time names its zone by its town, and a reader whose clock shows another
time gets theirs beside it.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_datetime, format_skeleton, format_timedelta, get_timezone_location
from babel.lists import format_list
from babel.units import format_unit

from bot.texts import texts_for
from storage.models import Event

# Babel locales for our languages: British English writes dates as the source does ("2 October").
BABEL_LOCALES = {"en": "en_GB"}
# JINR's zone, which readers know by its town.
DUBNA_ZONE = "Europe/Moscow"


def babel_locale(language: str) -> str:
    return BABEL_LOCALES.get(language, language)


def readable(zone: str) -> bool:
    """Whether a chat's zone is one the bot can read: others read in the bot's own."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_label(zone: str, *, language: str = "en") -> str:
    """A zone as readers call it: its city in their language ("Almaty", "Алматы"); Moscow's
    zone is Dubna's, where JINR is."""
    if zone == DUBNA_ZONE:
        return str(texts_for(language)("zone.dubna"))
    return str(
        get_timezone_location(ZoneInfo(zone), locale=babel_locale(language), return_city=True)
    )


def when(event: Event, *, language: str = "en", reader: str | None = None) -> str:
    """The event's date as its source gives it: a month is never shown as a day.

    A time is in the event's zone and, for a reader whose clock shows another time, in theirs
    too: "10:00 Almaty · 08:00 Dubna".
    """
    zone = ZoneInfo(event.zone)
    start = event.starts_at.astimezone(zone)
    end = event.ends_at.astimezone(zone) if event.ends_at else None
    if event.precision in ("month", "day"):
        last = end.date() if end else None
        return period(start.date(), last, precision=event.precision, language=language)
    shown = _times(event.starts_at, event.ends_at, zone=event.zone, language=language)
    if reader is None or not _reads_otherwise(event, reader):
        return shown
    theirs = _times(
        event.starts_at, event.ends_at, zone=reader, language=language, dated=start.date()
    )
    return f"{shown} · {theirs}"


def period(first: date, last: date | None, *, precision: str, language: str = "en") -> str:
    """Days or months from ``first`` to ``last``: "4–8 March 2030", "2030 ж. 4–8 наурыз"."""
    one = day_of(first, precision=precision, language=language)
    if last is None or (last == first if precision == "day" else _month(last) == _month(first)):
        return one
    if precision == "day" and _month(last) == _month(first):
        # The last day as the language writes it, with the first day's number before it.
        written = day_of(last, precision="day", language=language)
        return re.sub(rf"\b{last.day}\b", f"{first.day}–{last.day}", written, count=1)
    return f"{one} – {day_of(last, precision=precision, language=language)}"


def _month(day: date) -> tuple[int, int]:
    return day.year, day.month


def _reads_otherwise(event: Event, reader: str) -> bool:
    """Whether a reader's clock shows the event's times otherwise than the event's zone."""
    moments = [event.starts_at, *([event.ends_at] if event.ends_at else [])]
    return any(
        at.astimezone(ZoneInfo(reader)).replace(tzinfo=None)
        != at.astimezone(ZoneInfo(event.zone)).replace(tzinfo=None)
        for at in moments
    )


def _times(
    start: datetime,
    end: datetime | None,
    *,
    zone: str,
    language: str,
    dated: date | None = None,
) -> str:
    """A start (and end) in one zone, with the zone's name: "1 December 2026, 10:00 Almaty".

    Given ``dated``, the day shown elsewhere: a day is left out where it is that one, and a
    day of another month or year written as such.
    """
    label = zone_label(zone, language=language)
    local_start = start.astimezone(ZoneInfo(zone))
    local_end = end.astimezone(ZoneInfo(zone)) if end else None

    def moment(at: datetime) -> str:
        if dated is None:
            return moment_of(at, precision="minute", zone=zone, language=language)
        day = at.astimezone(ZoneInfo(zone)).date()
        if day == dated:
            return time_of(at, zone=zone, language=language)
        skeleton = "MMMMd" if day.year == dated.year else "yMMMMd"
        written = format_skeleton(skeleton, day, locale=babel_locale(language))
        return f"{written}, {time_of(at, zone=zone, language=language)}"

    if local_end is None or local_end == local_start:
        return f"{moment(start)} {label}"
    if local_end.date() == local_start.date():
        return f"{moment(start)}–{time_of(end or start, zone=zone, language=language)} {label}"
    return f"{moment(start)} – {moment(local_end)} {label}"


def date_of(at: datetime, *, precision: str, zone: str, language: str = "en") -> str:
    """A moment's date in its zone, no finer than known: "5 December 2026", "November 2023"."""
    local = at.astimezone(ZoneInfo(zone)).date()
    return day_of(local, precision="month" if precision == "month" else "day", language=language)


def time_of(at: datetime, *, zone: str, language: str = "en") -> str:
    """The local time of day of a moment in its zone: "17:00"."""
    return format_datetime(at.astimezone(ZoneInfo(zone)), "HH:mm", locale=babel_locale(language))


def moment_of(at: datetime, *, precision: str, zone: str, language: str = "en") -> str:
    """A moment as precisely as known: "5 December 2026, 17:00", "5 December 2026"."""
    day = date_of(at, precision=precision, zone=zone, language=language)
    return f"{day}, {time_of(at, zone=zone, language=language)}" if precision == "minute" else day


def countdown(delta: timedelta, *, precision: str, language: str = "en") -> str:
    """How long until something starts, no finer than what we know of its date.

    For a month-precision event, pass precision "day" and the time until the month begins.
    """
    locale = babel_locale(language)
    if precision == "day":
        days = max(1, round(delta / timedelta(days=1)))
        return format_timedelta(
            timedelta(days=days), granularity="day", threshold=10**6, locale=locale
        )
    # Round up, so a countdown never says "0 minutes" or ends before the event starts.
    days, rest = divmod(max(1, math.ceil(delta / timedelta(minutes=1))), 24 * 60)
    hours, minutes = divmod(rest, 60)
    units: list[tuple[int, Literal["day", "hour", "minute"]]] = [
        (days, "day"),
        (hours, "hour"),
        (minutes, "minute"),
    ]
    parts = [
        format_timedelta(
            timedelta(**{f"{unit}s": amount}), threshold=10**6, granularity=unit, locale=locale
        )
        for amount, unit in units
        if amount
    ][:2]
    return format_list(parts, locale=locale)


_SPAN_UNITS = (
    ("duration-day", timedelta(days=1)),
    ("duration-hour", timedelta(hours=1)),
    ("duration-minute", timedelta(minutes=1)),
    ("duration-second", timedelta(seconds=1)),
)


def span(delta: timedelta, *, language: str = "en") -> str:
    """An exact length of time in words, in its largest whole unit: "7 days", "90 seconds"."""
    for unit, size in _SPAN_UNITS:
        if delta % size == timedelta(0):
            return str(format_unit(delta // size, unit, locale=babel_locale(language)))
    return str(
        format_unit(delta.total_seconds(), "duration-second", locale=babel_locale(language))
    )


def day_of(day: date, *, precision: str, language: str = "en") -> str:
    """A date no finer than its source gives it: "14 February 2023", "October 2023", "2023"."""
    skeleton = {"day": "yMMMMd", "month": "yMMMM"}.get(precision, "y")
    return str(format_skeleton(skeleton, day, locale=babel_locale(language)))
