"""Moments as content/ and admins write them: "2026-12-01T10:00" in a file, with the zone in a
field of its own; "2026-12-01 10:00 Asia/Almaty", "2026-12-01", "2026-12 UTC" from Telegram.

Both are read by the one grammar here (``parse_moment``), into the very values a content sync
stores (the first instant of the minute, day or month, in UTC, and its precision), so that an
event added from Telegram exports and syncs back unchanged.

The zone may be left out; the caller then names the zone meant (the bot's ``[time] zone`` for a
new event, the event's own zone for an edit). A local time the clocks skip is refused; one they
pass twice (when they go back) is taken at its first occurrence, as a content sync takes it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from storage.events import period_end

# The three ways to write a moment, each as precise as its source: a month, a day, a minute.
MOMENT_FORMS = (
    ("minute", re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})")),
    ("day", re.compile(r"(\d{4})-(\d{2})-(\d{2})")),
    ("month", re.compile(r"(\d{4})-(\d{2})")),
)
MOMENT_HINT = (
    'write "2023-11" for a month, "2023-10-02" for a day or "2026-12-01T10:00" for a local time'
)
UNPARSABLE, UNKNOWN_ZONE, SKIPPED = "unparsable", "unknown_zone", "skipped"
_FORMATS = {"minute": "%Y-%m-%d %H:%M", "day": "%Y-%m-%d", "month": "%Y-%m"}


DATE_FORMS = (
    ("day", re.compile(r"\d{4}-\d{2}-\d{2}"), "%Y-%m-%d"),
    ("month", re.compile(r"\d{4}-\d{2}"), "%Y-%m"),
    ("year", re.compile(r"\d{4}"), "%Y"),
)
DATE_HINT = 'write "2023-10-02" for a day, "2023-10" for a month or "2023" for a year'


def parse_date(text: str) -> tuple[str, date] | None:
    """A date as content/ writes a role's or an agreement's: its precision and first day."""
    for precision, pattern, form in DATE_FORMS:
        if pattern.fullmatch(text):
            try:
                return precision, datetime.strptime(text, form).date()
            except ValueError:
                return None
    return None


def date_text(day: date, precision: str) -> str:
    """A stored date back in the form content/ writes it."""
    return day.strftime(next(form for name, _, form in DATE_FORMS if name == precision))


def parse_moment(text: str) -> tuple[str, datetime] | None:
    """A moment as content/ writes it: its precision and local time; None if it is not one."""
    for precision, pattern in MOMENT_FORMS:
        match = pattern.fullmatch(text)
        if match:
            parts = [int(part) for part in match.groups()]
            # A month starts on its first day, a day at midnight.
            parts += (1, 0, 0)[len(parts) - 2 :]
            year, month, day, hour, minute = parts
            try:
                return precision, datetime(year, month, day, hour, minute)
            except ValueError:
                return None
    return None


def zone_named(name: str) -> ZoneInfo | None:
    """The IANA time zone of this name; None if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


class MomentError(ValueError):
    """Why a moment cannot be read: ``problem`` is one of the constants above."""

    def __init__(self, problem: str, text: str, suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(f"{problem}: {text!r}")
        self.problem, self.text, self.suggestions = problem, text, suggestions


@dataclass(frozen=True)
class Moment:
    precision: str
    # The first instant of the minute, day or month, in UTC.
    at: datetime
    zone: ZoneInfo
    # The zone was written, rather than taken from the caller's default.
    zone_given: bool
    # The local time happens twice (the clocks go back); ``at`` is the first of the two.
    twice: bool

    def is_past(self, now: datetime) -> bool:
        """True once the whole minute, day or month is over."""
        return period_end(self.at, precision=self.precision, zone=self.zone.key) <= now


def parse(text: str, *, default_zone: ZoneInfo) -> Moment:
    """Read "date [time] [zone]"; MomentError says what is wrong."""
    words = text.split()
    name = words.pop() if words and not words[-1][:1].isdigit() else None
    parsed = parse_moment("T".join(words)) if 1 <= len(words) <= 2 else None
    if parsed is None:
        raise MomentError(UNPARSABLE, text)
    precision, local = parsed
    zone = default_zone
    if name is not None:
        zone = zone_named(name) or _unknown_zone(name)
    at = local.replace(tzinfo=zone).astimezone(UTC)
    if precision == "minute" and at.astimezone(zone).replace(tzinfo=None) != local:
        raise MomentError(SKIPPED, text)
    second = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return Moment(
        precision, at, zone, name is not None, twice=precision == "minute" and second != at
    )


def _unknown_zone(name: str) -> NoReturn:
    raise MomentError(UNKNOWN_ZONE, name, close_zones(name))


def written(at: datetime, *, precision: str, zone: str) -> str:
    """A stored moment back in the form admins write it, zone included."""
    return f"{at.astimezone(ZoneInfo(zone)).strftime(_FORMATS[precision])} {zone}"


def close_zones(name: str) -> tuple[str, ...]:
    """Zone names like a mistyped one, case aside: "asia/almaty" finds "Asia/Almaty"."""
    by_lower = {zone.lower(): zone for zone in _zone_names()}
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=3)
    return tuple(by_lower[match] for match in found)


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def examples(now: datetime, zone: ZoneInfo) -> dict[str, str]:
    """Example moments for usage and error texts, always ahead of ``now``.

    A fixed date in a help text turns into a refusal the day it passes; these are a Monday five
    or six weeks ahead (a school that runs to Friday), in the form admins write them.
    """
    local = now.astimezone(zone)
    monday = (local + timedelta(weeks=5, days=7 - local.weekday())).date()
    friday = monday + timedelta(days=4)
    return {
        "example_minute": f"{monday:%Y-%m-%d} 10:00",
        "example_end": f"{friday:%Y-%m-%d} 18:00",
        "example_day": f"{monday:%Y-%m-%d}",
        "example_end_day": f"{friday:%Y-%m-%d}",
        "example_month": f"{monday:%Y-%m}",
        "example_zone": zone.key,
        "example_id": f"school-{monday:%Y-%m}",
    }
