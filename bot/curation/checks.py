"""The checks of content's values beyond their shape: references, choices, addresses, zones, times.

bot/curation/loading.py reads each item and checks its shape (present, typed, sized); these run
once every file is read, as a reference needs the ids of another file. Each reports through the
Checker, naming the item and field, and an event's times become the UTC instants it stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import available_timezones

from bot.curation.content import (
    AGREEMENT_KINDS,
    DATED,
    KINDS,
    LANGUAGES,
    SIDES,
    STATUSES,
    Checker,
    Entry,
    closest,
)
from bot.curation.moments import DATE_HINT, MOMENT_HINT, parse_date, parse_moment, zone_named


def check_values(checker: Checker, item: Entry) -> None:
    """Every check of one item's values; an event's times are added to its values."""
    table = item.kind.table
    for field in item.kind.fields:
        rule = RULES.get((table, field.name))
        if rule and field.name in item.values:
            rule(checker, item)
    if table == "sources":
        _check_source_location(checker, item)
    if table == "events":
        _check_event_times(checker, item)
    for name in DATED:
        if name in item.values:
            _check_date(checker, item, name)


Rule = Callable[[Checker, Entry], None]


def _reference(table: str, field: str) -> Rule:
    def check(checker: Checker, item: Entry) -> None:
        value, known = item.values[field], checker.ids[table]
        if known is not None and value not in known:
            guess = closest(value, known)
            hint = (
                f"did you mean '{guess}'?"
                if guess
                else f"add it to {table}.toml or use one of its ids"
            )
            noun = next(kind.noun for kind in KINDS if kind.table == table)
            checker.problem(item, field, f"unknown {noun} '{value}' ({hint})")

    return check


def _choice(field: str, allowed: Iterable[str]) -> Rule:
    options = tuple(allowed)

    def check(checker: Checker, item: Entry) -> None:
        value = item.values[field]
        if value not in options:
            listed = " or ".join(f"'{option}'" for option in options)
            checker.problem(item, field, f"'{value}' is not allowed (use {listed})")

    return check


def _references(table: str, field: str) -> Rule:
    """A "; "-separated list of ids of another kind, each of which must exist."""
    one = _reference(table, field)

    def check(checker: Checker, item: Entry) -> None:
        listed = [part.strip() for part in item.values[field].split(";")]
        for value in listed:
            one(checker, Entry(item.kind, item.index, {**item.values, field: value}))
        repeated = {value for value in listed if listed.count(value) > 1}
        if repeated:
            checker.problem(item, field, f"lists {', '.join(sorted(repeated))} twice")

    return check


def _check_url(checker: Checker, item: Entry) -> None:
    url = item.values["url"]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        checker.problem(
            item, "url", f"'{url}' is not an http(s) address (write the full https://... address)"
        )


def _check_zone(checker: Checker, item: Entry) -> None:
    name = item.values["zone"]
    if zone_named(name) is None:
        example = closest(name, available_timezones()) or "Europe/Moscow"
        checker.problem(
            item, "zone", f"unknown time zone '{name}' (use an IANA name such as '{example}')"
        )


RULES: dict[tuple[str, str], Rule] = {
    ("sources", "url"): _check_url,
    ("facts", "topic"): _reference("topics", "topic"),
    ("sources", "language"): _choice("language", LANGUAGES),
    ("people", "side"): _choice("side", SIDES),
    ("roles", "person"): _reference("people", "person"),
    ("events", "people"): _references("people", "people"),
    ("agreements", "kind"): _choice("kind", AGREEMENT_KINDS),
    ("agreements", "signatories"): _references("people", "signatories"),
    ("events", "zone"): _check_zone,
    ("events", "status"): _choice("status", STATUSES),
    **{
        (table, "source"): _reference("sources", "source")
        for table in ("facts", "people", "roles", "facilities", "events", "agreements")
    },
}


def _check_source_location(checker: Checker, item: Entry) -> None:
    """A source must be findable: by its address, or by a file kept inside the content folder."""
    if "url" not in item.values and "file" not in item.values:
        checker.problem(
            item,
            "url",
            'missing: a source needs a url or a file (add url = "https://..." '
            'or file = "sources/<id>.txt")',
        )
    relative = item.values.get("file")
    if relative is None:
        return
    root = checker.folder.resolve()
    path = (root / relative).resolve()
    if Path(relative).is_absolute() or not path.is_relative_to(root):
        checker.problem(
            item,
            "file",
            f"'{relative}' is outside the content folder (give a path relative to it)",
        )
    elif not path.is_file():
        checker.problem(
            item,
            "file",
            f"'{relative}' not found in {checker.folder} (add the file or fix the path)",
        )


def _check_date(checker: Checker, item: Entry, field: str) -> None:
    """A role's or an agreement's date, as precise as its source: stored as its first day."""
    text = item.values[field]
    parsed = parse_date(text)
    if parsed is None:
        checker.problem(item, field, f"'{text}' is not a valid date ({DATE_HINT})")
        return
    item.values[f"{field}_precision"], item.values[field] = parsed


def _check_event_times(checker: Checker, item: Entry) -> None:
    """Turn starts/ends into UTC instants; both must be equally precise and in order."""
    zone = zone_named(item.values.get("zone", ""))
    moments: dict[str, tuple[str, datetime]] = {}
    for field in ("starts", "ends"):
        text = item.values.get(field)
        if text is None:
            continue
        parsed = parse_moment(text)
        if parsed is None:
            checker.problem(item, field, f"'{text}' is not a valid date ({MOMENT_HINT})")
            continue
        precision, local = parsed
        if zone is None:
            continue
        instant = local.replace(tzinfo=zone).astimezone(UTC)
        if precision == "minute" and instant.astimezone(zone).replace(tzinfo=None) != local:
            checker.problem(
                item,
                field,
                f"'{text}' does not exist in {zone.key}: the clocks skip it (pick another time)",
            )
            continue
        moments[field] = precision, instant
    if "starts" in moments and "ends" in moments:
        (start_precision, starts_at), (end_precision, ends_at) = moments["starts"], moments["ends"]
        if start_precision != end_precision:
            checker.problem(
                item,
                "ends",
                f"is given to the {end_precision} but starts to the {start_precision} "
                "(write both the same way)",
            )
        elif ends_at < starts_at:
            checker.problem(
                item,
                "ends",
                f"'{item.values['ends']}' is before starts '{item.values['starts']}' "
                "(ends must not be earlier than starts)",
            )
    if "starts" in moments:
        item.values["precision"], item.values["starts_at"] = moments["starts"]
    item.values["ends_at"] = moments["ends"][1] if "ends" in moments else None
