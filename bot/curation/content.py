"""Read the curated knowledge in content/ and check it before any of it reaches the database.

Content is edited by hand, so every mistake is collected and reported at once, each naming the
file, the item and the field with a hint on how to fix it; nothing loads until all are fixed.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.texts import DEFAULT_LANGUAGE, texts_for
from storage.sync import ContentRecords, Record

# Ids travel inside inline buttons, whose data Telegram caps at 64 bytes: 40 leaves room.
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
SHORT, MEDIUM, LONG = 200, 500, 2000
SIDES = ("kazakhstan", "jinr")
STATUSES = ("scheduled", "cancelled")
# The three ways to write a moment, each as precise as its source: a month, a day, a minute.
MOMENT_FORMS = (
    ("minute", re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})")),
    ("day", re.compile(r"(\d{4})-(\d{2})-(\d{2})")),
    ("month", re.compile(r"(\d{4})-(\d{2})")),
)
MOMENT_HINT = (
    'write "2023-11" for a month, "2023-10-02" for a day or "2026-12-01T10:00" for a local time'
)


class ContentError(Exception):
    """Everything wrong with content/, so that one round of edits can fix it all."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"- {problem}" for problem in problems)
        counted = texts_for(DEFAULT_LANGUAGE)("count.problems", count=len(problems))
        super().__init__(f"{counted} in content:\n{lines}")


@dataclass(frozen=True)
class Field:
    name: str
    type: type = str
    required: bool = True
    limit: int = SHORT
    # The model column the value goes to, when it is not named like the field.
    column: str | None = None


@dataclass(frozen=True)
class Kind:
    table: str
    noun: str
    fields: tuple[Field, ...]
    positioned: bool = True

    @property
    def file(self) -> str:
        return f"{self.table}.toml"


ID = Field("id", limit=64)
SOURCE = Field("source", column="source_id")
KINDS = (
    Kind(
        "sources",
        "source",
        (
            ID,
            Field("title"),
            Field("publisher"),
            # The date the page itself gives, and the day it was read for us: either may be
            # unknown, and a reader is never shown the second as if it were the first.
            Field("published", type=date, required=False),
            Field("cited", type=date, required=False),
            Field("url", required=False, limit=LONG),
            Field("file", required=False, limit=MEDIUM),
        ),
        positioned=False,
    ),
    Kind("topics", "topic", (ID, Field("title"))),
    Kind(
        "facts",
        "fact",
        (ID, Field("topic", limit=64), Field("title"), Field("text", limit=LONG), SOURCE),
    ),
    Kind(
        "people",
        "person",
        (
            ID,
            Field("name"),
            Field("side"),
            Field("role", limit=MEDIUM),
            # Other spellings people search by, "; "-separated: "Sakhiev; Сахиев".
            Field("aliases", required=False, limit=MEDIUM),
            SOURCE,
        ),
    ),
    Kind(
        "facilities",
        "facility",
        (
            ID,
            Field("name"),
            Field("description", limit=LONG),
            Field("aliases", required=False, limit=MEDIUM),
            SOURCE,
        ),
    ),
    Kind(
        "events",
        "event",
        (
            ID,
            Field("title"),
            Field("description", limit=LONG),
            Field("place"),
            Field("zone", limit=64),
            Field("starts", limit=32),
            Field("ends", required=False, limit=32),
            Field("status", required=False),
            SOURCE,
        ),
    ),
)


@dataclass
class Entry:
    """One [[table]] of a content file: what passed the shape checks, and where it sits."""

    kind: Kind
    index: int
    values: dict[str, Any]

    @property
    def label(self) -> str:
        item_id = self.values.get("id")
        return (
            f"{self.kind.noun} '{item_id}'" if item_id else f"{self.kind.noun} #{self.index + 1}"
        )


class Checker:
    """Collects problems while the content is read, so that all of them can be reported."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # The ids of each kind, or None when its file could not be read: references into an
        # unreadable file are not reported, as its own problem already explains them.
        self.ids: dict[str, set[str] | None] = {}
        self._problems: list[tuple[int, str]] = []

    @property
    def problems(self) -> list[str]:
        """Grouped by file, in the order the files are read, each group in the file's order."""
        return [message for _, message in sorted(self._problems, key=lambda pair: pair[0])]

    def file_problem(self, kind: Kind, message: str) -> None:
        self._problems.append((KINDS.index(kind), f"{kind.file}: {message}"))

    def problem(self, item: Entry, field: str, message: str) -> None:
        self.file_problem(item.kind, f"{item.label} field '{field}': {message}")


def load_content(folder: Path) -> ContentRecords:
    """Read and check the six content files; raise ContentError listing every problem found."""
    if not folder.is_dir():
        raise ContentError(
            [f"{folder}: content folder not found (pass the folder with the .toml files)"]
        )
    checker = Checker(folder)
    items: dict[str, list[Entry]] = {}
    for kind in KINDS:
        found = _read(checker, kind)
        items[kind.table] = found or []
        checker.ids[kind.table] = None if found is None else _check_unique_ids(checker, found)
    for table, kind_items in items.items():
        for item in kind_items:
            for field in item.kind.fields:
                rule = RULES.get((table, field.name))
                if rule and field.name in item.values:
                    rule(checker, item)
            if table == "sources":
                _check_source_location(checker, item)
            if table == "events":
                _check_event_times(checker, item)
    if checker.problems:
        raise ContentError(checker.problems)
    return ContentRecords(
        **{table: tuple(_record(item) for item in found) for table, found in items.items()}
    )


def _read(checker: Checker, kind: Kind) -> list[Entry] | None:
    """The file's items, each shape-checked; None if the file itself cannot be read."""
    path = checker.folder / kind.file
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        checker.file_problem(
            kind, f"file not found in {checker.folder} (create it with [[{kind.table}]] tables)"
        )
        return None
    except (OSError, UnicodeDecodeError) as error:
        checker.file_problem(kind, f"cannot be read: {error} (save it as UTF-8 text)")
        return None
    except tomllib.TOMLDecodeError as error:
        checker.file_problem(kind, f"invalid TOML: {error} (fix the syntax there)")
        return None
    for key in [key for key in document if key != kind.table]:
        checker.file_problem(
            kind, f"unknown top-level key '{key}' (put items in [[{kind.table}]] tables)"
        )
    tables = document.get(kind.table, [])
    if not isinstance(tables, list):
        checker.file_problem(
            kind,
            f"'{kind.table}' must be an array of tables (write [[{kind.table}]] before each item)",
        )
        return None
    items = []
    for index, table in enumerate(tables):
        if isinstance(table, dict):
            items.append(_check_shape(checker, kind, index, table))
        else:
            checker.file_problem(
                kind,
                f"{kind.noun} #{index + 1} is not a table "
                f"(write [[{kind.table}]] before each item)",
            )
    return items


def _check_shape(checker: Checker, kind: Kind, index: int, table: dict[str, Any]) -> Entry:
    """Keep the fields that are present, of the right type and size; report the rest."""
    item = Entry(kind, index, {})
    raw_id = table.get("id")
    if isinstance(raw_id, str) and ID_PATTERN.fullmatch(raw_id):
        item.values["id"] = raw_id
    allowed = [field.name for field in kind.fields]
    for name in [name for name in table if name not in allowed]:
        guess = _closest(name, allowed)
        hint = f"did you mean '{guess}'?" if guess else f"allowed: {', '.join(allowed)}"
        checker.problem(item, name, f"unknown field ({hint})")
    for field in kind.fields:
        value = table.get(field.name)
        if value is None:
            if field.required:
                checker.problem(item, field.name, f"missing (add {field.name} = ...)")
            continue
        message = _shape_problem(field, value)
        if message:
            checker.problem(item, field.name, message)
        else:
            item.values[field.name] = value.strip() if isinstance(value, str) else value
    return item


def _shape_problem(field: Field, value: Any) -> str | None:
    if field.type is date:
        if isinstance(value, datetime) or not isinstance(value, date):
            return (
                f"must be a TOML date, got {_toml_type(value)} {_show(value)} "
                f"(write the day unquoted, with no time: {field.name} = 2023-10-04)"
            )
        return None
    if not isinstance(value, str):
        return f"must be a string, got {_toml_type(value)} {_show(value)} (put it in quotes)"
    if not value.strip():
        return "is empty (write some text)" if field.required else "is empty (remove the field)"
    if len(value) > field.limit:
        return f"is {len(value)} characters long (keep it to at most {field.limit})"
    if field is ID and not ID_PATTERN.fullmatch(value):
        return (
            f"'{value}' is not a valid id (use lowercase letters, digits and hyphens, "
            "starting with a letter or digit, at most 40 characters)"
        )
    return None


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _toml_type(value: Any) -> str:
    for python_type, name in (
        (bool, "boolean"),
        (int, "integer"),
        (float, "float"),
        (list, "array"),
        (dict, "table"),
        (datetime, "date-time"),
        (date, "date"),
        (time, "time"),
    ):
        if isinstance(value, python_type):
            return name
    return type(value).__name__


def _check_unique_ids(checker: Checker, items: list[Entry]) -> set[str]:
    """Report repeated ids; return the ids that are there."""
    first: dict[str, Entry] = {}
    for item in items:
        item_id = item.values.get("id")
        if item_id is None:
            continue
        if item_id in first:
            checker.problem(
                item,
                "id",
                f"duplicate id '{item_id}', already used by {first[item_id].kind.noun} "
                f"#{first[item_id].index + 1} (ids must be unique within {item.kind.file})",
            )
        else:
            first[item_id] = item
    return set(first)


Rule = Callable[[Checker, Entry], None]


def _reference(table: str, field: str) -> Rule:
    def check(checker: Checker, item: Entry) -> None:
        value, known = item.values[field], checker.ids[table]
        if known is not None and value not in known:
            guess = _closest(value, known)
            hint = (
                f"did you mean '{guess}'?"
                if guess
                else f"add it to {table}.toml or use one of its ids"
            )
            checker.problem(item, field, f"unknown {table.removesuffix('s')} '{value}' ({hint})")

    return check


def _choice(field: str, allowed: Iterable[str]) -> Rule:
    options = tuple(allowed)

    def check(checker: Checker, item: Entry) -> None:
        value = item.values[field]
        if value not in options:
            listed = " or ".join(f"'{option}'" for option in options)
            checker.problem(item, field, f"'{value}' is not allowed (use {listed})")

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
        example = _closest(name, available_timezones()) or "Europe/Moscow"
        checker.problem(
            item, "zone", f"unknown time zone '{name}' (use an IANA name such as '{example}')"
        )


RULES: dict[tuple[str, str], Rule] = {
    ("sources", "url"): _check_url,
    ("facts", "topic"): _reference("topics", "topic"),
    ("people", "side"): _choice("side", SIDES),
    ("events", "zone"): _check_zone,
    ("events", "status"): _choice("status", STATUSES),
    **{
        (table, "source"): _reference("sources", "source")
        for table in ("facts", "people", "facilities", "events")
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


def parse_moment(text: str) -> tuple[str, datetime] | None:
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
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _closest(word: str, choices: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(choices), n=1)
    return matches[0] if matches else None


def _record(item: Entry) -> Record:
    """The column values the database wants for one item."""
    record: Record = {"id": item.values["id"]}
    if item.kind.positioned:
        record["position"] = item.index
    for field in item.kind.fields:
        if field.name not in ("id", "starts", "ends"):
            record[field.column or field.name] = item.values.get(field.name)
    if item.kind.table == "events":
        record["status"] = item.values.get("status", "scheduled")
        for column in ("precision", "starts_at", "ends_at"):
            record[column] = item.values[column]
    return record
