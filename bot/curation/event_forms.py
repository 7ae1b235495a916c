"""Admin input for events, checked by the rules content/ obeys, so an export always passes a check.

The moments are read by bot/curation/moments.py; each field keeps content's limit for it. A
problem raises ``Invalid`` with the message that says what was wrong and how to write it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.context import BotData
from bot.curation.content import ID_PATTERN, KINDS, Field
from bot.curation.moments import (
    SKIPPED,
    UNKNOWN_ZONE,
    Moment,
    MomentError,
    examples,
    parse,
    written,
)
from bot.texts import Html, Texts, escape, join
from storage.models import Event

# The limits content/ sets on each event field.
FIELDS: dict[str, Field] = {
    f.name: f for f in next(k for k in KINDS if k.table == "events").fields
}
# What /editevent can change, as admins name it.
EDITABLE = ("title", "description", "place", "start", "end", "source")
NO_END = "-"


class Invalid(Exception):
    """Input that cannot become (part of) an event; the message says why and how to fix it."""

    def __init__(self, message: Html) -> None:
        super().__init__(message)
        self.message = message


async def new_event(
    t: Texts, data: BotData, parts: list[str], *, exists: Callable[[str], Awaitable[bool]]
) -> tuple[dict[str, Any], Moment]:
    """The columns of a new event from the admin's parts, each checked as content/ checks it."""
    event_id, title, start_text, place, source, description = parts[:6]
    if not ID_PATTERN.fullmatch(event_id):
        raise Invalid(t("admin_events.bad_id", id=event_id, **examples_for(data)))
    if await exists(event_id):
        raise Invalid(t("admin_events.duplicate", id=event_id))
    start = _moment(t, data, "start", start_text, data.settings.zone)
    values = {
        "id": event_id,
        "title": _text(t, "title", title),
        "description": _text(t, "description", description),
        "place": _text(t, "place", place),
        "zone": start.zone.key,
        "precision": start.precision,
        "starts_at": start.at,
        "ends_at": _end(t, data, parts[6], start) if len(parts) == 7 else None,
        "status": "scheduled",
        "source_id": _source(t, data, source),
    }
    return values, start


def changes(
    t: Texts, data: BotData, event: Event, name: str, value: str
) -> tuple[dict[str, Any], list[Html]]:
    """The columns one /editevent changes, and notes for the preview."""
    if name not in EDITABLE:
        raise Invalid(t("admin_events.unknown_field", field=name, id=event.id))
    notes: list[Html] = []
    if name in ("title", "description", "place"):
        changes: dict[str, Any] = {name: _text(t, name, value)}
    elif name == "source":
        changes = {"source_id": _source(t, data, value)}
    elif name == "end":
        ends_at = None if value == NO_END else _end(t, data, value, _stored_start(event))
        changes = {"ends_at": ends_at}
    else:
        start = _moment(t, data, "start", value, ZoneInfo(event.zone))
        changes = {"zone": start.zone.key, "precision": start.precision, "starts_at": start.at}
        if event.ends_at is not None:
            if start.precision != event.precision:
                raise Invalid(
                    t("admin_events.start_precision", id=event.id, precision=event.precision)
                )
            # The end keeps its local date and time, read in the new start's zone.
            end_text = _local(event.ends_at, event.precision, event.zone)
            changes["ends_at"] = _end(t, data, end_text, start)
        if start.zone.key != event.zone:
            notes.append(t("admin_events.zone_given", zone=start.zone.key))
        notes += twice_note(t, start)
    if all(getattr(event, column) == new for column, new in changes.items()):
        raise Invalid(t("admin_events.no_change", field=name, id=event.id))
    return changes, notes


def _text(t: Texts, name: str, value: str) -> str:
    """A text field within content's limit for it."""
    limit = FIELDS[name].limit
    if not value:
        raise Invalid(t("admin_events.empty_field", field=name))
    if len(value) > limit:
        raise Invalid(t("admin_events.too_long", field=name, length=len(value), limit=limit))
    return value


def _source(t: Texts, data: BotData, source_id: str) -> str:
    known = data.knowledge.sources
    if source_id not in known:
        raise Invalid(
            t("admin_events.unknown_source", source=source_id, sources=codes(sorted(known)))
        )
    return source_id


def _moment(t: Texts, data: BotData, name: str, text: str, zone: ZoneInfo) -> Moment:
    """A start: readable, in a known zone, existing on the local clock, and not yet over."""
    try:
        moment = parse(text, default_zone=zone)
    except MomentError as error:
        raise Invalid(_moment_problem(t, data, name, error)) from None
    now = data.clock.now()
    if moment.is_past(now):
        current = written(now, precision="minute", zone=moment.zone.key)
        ahead = examples(now, moment.zone)
        raise Invalid(t("admin_events.past", field=name, text=text, now=current, **ahead))
    return moment


def _end(t: Texts, data: BotData, text: str, start: Moment) -> datetime:
    """An end in the start's zone and precision, not before it."""
    try:
        end = parse(text, default_zone=start.zone)
    except MomentError as error:
        raise Invalid(_moment_problem(t, data, "end", error)) from None
    if end.zone.key != start.zone.key:
        raise Invalid(t("admin_events.end_zone", zone=start.zone.key, end_zone=end.zone.key))
    if end.precision != start.precision:
        raise Invalid(
            t(
                "admin_events.end_precision",
                start=start.precision,
                end=end.precision,
                **examples(data.clock.now(), start.zone),
            )
        )
    if end.at < start.at:
        start_text = written(start.at, precision=start.precision, zone=start.zone.key)
        raise Invalid(t("admin_events.end_before_start", end=text, start=start_text))
    return end.at


def _moment_problem(t: Texts, data: BotData, name: str, error: MomentError) -> Html:
    if error.problem == UNKNOWN_ZONE:
        close = ", ".join(error.suggestions) or "Asia/Almaty, Europe/Moscow"
        return t(
            "admin_events.unknown_zone",
            field=name,
            zone=error.text,
            close=close,
            **examples_for(data),
        )
    if error.problem == SKIPPED:
        return t("admin_events.skipped", field=name, text=error.text)
    return t("admin_events.unparsable", field=name, text=error.text, **examples_for(data))


def examples_for(data: BotData) -> dict[str, str]:
    """Example moments for a text, ahead of the bot's clock in the bot's zone."""
    return examples(data.clock.now(), data.settings.zone)


def zone_note(t: Texts, start: Moment) -> Html:
    if start.zone_given:
        return t("admin_events.zone_given", zone=start.zone.key)
    return t("admin_events.zone_default", zone=start.zone.key)


def twice_note(t: Texts, start: Moment) -> list[Html]:
    """A warning when the local time happens twice: the first of the two is the one stored."""
    if not start.twice:
        return []
    utc = written(start.at, precision="minute", zone="UTC")
    local = written(start.at, precision="minute", zone=start.zone.key)
    return [t("admin_events.twice", local=local, utc=utc)]


def _stored_start(event: Event) -> Moment:
    """The event's start as a Moment, to check a new end against."""
    zone = ZoneInfo(event.zone)
    return Moment(event.precision, event.starts_at, zone, zone_given=True, twice=False)


def _local(at: datetime, precision: str, zone: str) -> str:
    """A stored moment as a local date and time, without its zone."""
    return written(at, precision=precision, zone=zone).rsplit(" ", 1)[0]


def codes(ids: Sequence[str]) -> Html:
    """Ids to copy, one per line."""
    return join([Html(f"<code>{escape(item)}</code>") for item in ids])
