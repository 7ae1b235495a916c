"""Reading content/: the eight files, each item's shape, then every check, into database records;
then the translations beside them (bot/curation/translations.py).

Kept apart from the definitions (bot/curation/content.py), which the admin forms and the export
share, and from the checks of values (bot/curation/checks.py), which go beyond an item's shape.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from bot.curation import checks, translations
from bot.curation.content import (
    DATED,
    ID,
    ID_PATTERN,
    KINDS,
    Checker,
    ContentError,
    Entry,
    Field,
    Kind,
    closest,
)
from storage.sync import ContentRecords, Record


def load_content(folder: Path) -> ContentRecords:
    """Read and check the content files; raise ContentError listing every problem found."""
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
    for kind_items in items.values():
        for item in kind_items:
            checks.check_values(checker, item)
    translated = translations.read_translations(checker, items)
    if checker.problems:
        raise ContentError(checker.problems)
    return ContentRecords(
        **{table: tuple(_record(item) for item in found) for table, found in items.items()},
        translations=tuple(translated),
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
        guess = closest(name, allowed)
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
    for name in DATED:
        if name in record:
            record[f"{name}_precision"] = item.values[f"{name}_precision"]
    return record
