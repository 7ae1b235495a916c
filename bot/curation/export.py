"""The curated knowledge written back as the files content/ holds, for /export and /import.

The fields, their names and their order come from ``bot.curation.content.KINDS``, so what is
written here is what ``coopbot content check`` reads; event times are written in the event's own
zone, as precisely as they are known ("2023-11", "2023-10-02", "2026-12-01T10:00").
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import tomli_w

from bot.curation.content import DATED, KINDS, OURS, TRANSLATIONS, Kind
from bot.curation.moments import date_text
from storage.models import Base, Translation

# How each precision is written; the forms bot.curation.moments.MOMENT_FORMS reads.
MOMENT_WRITTEN = {"minute": "%Y-%m-%dT%H:%M", "day": "%Y-%m-%d", "month": "%Y-%m"}
SOURCES_FOLDER = "sources"


def moment_text(instant: datetime, zone: str, precision: str) -> str:
    """An event time as content writes it: local to the event, to its precision."""
    return instant.astimezone(ZoneInfo(zone)).strftime(MOMENT_WRITTEN[precision])


def item_table(kind: Kind, row: Any) -> dict[str, Any]:
    """One row as the [[table]] its content file would hold; empty optional fields left out."""
    table: dict[str, Any] = {}
    for field in kind.fields:
        if field.name == "starts":
            value: Any = moment_text(row.starts_at, row.zone, row.precision)
        elif field.name == "ends":
            ends = row.ends_at
            value = None if ends is None else moment_text(ends, row.zone, row.precision)
        elif field.name in DATED:
            value = date_text(getattr(row, field.name), getattr(row, f"{field.name}_precision"))
        elif field.name == "status":
            # Scheduled is the default; only a cancellation needs saying.
            value = None if row.status == "scheduled" else row.status
        else:
            value = getattr(row, field.column or field.name)
        if value is not None:
            table[field.name] = value
    return table


def content_files(rows: Mapping[str, Sequence[Base]], *, header: str) -> dict[str, bytes]:
    """The content's TOML files by name, each starting with a ``# header`` comment.

    Each item is written as a ``[[table]]`` of its own, as content/ is (tomli-w alone would
    inline short ones), so that an admin can edit the file and add items the same way.
    """
    files = {}
    for kind in KINDS:
        items = [
            f"[[{kind.table}]]\n{tomli_w.dumps(item_table(kind, row))}"
            for row in rows.get(kind.table, ())
        ]
        files[kind.file] = "\n".join([f"# {header}\n", *items]).encode()
    translations = [row for row in rows.get(TRANSLATIONS, ()) if isinstance(row, Translation)]
    for language in sorted({row.language for row in translations}):
        tables = translation_tables(
            rows, [row for row in translations if row.language == language]
        )
        items = [f"[[{table}]]\n{tomli_w.dumps(entry)}" for table, entry in tables]
        files[f"{TRANSLATIONS}/{language}.toml"] = "\n".join([f"# {header}\n", *items]).encode()
    return files


def translation_tables(
    rows: Mapping[str, Sequence[Base]], translations: Sequence[Translation]
) -> list[tuple[str, dict[str, Any]]]:
    """One language's translations as the tables its file holds: for each item written, in
    the order its own file lists it, a table per origin with the fields in the kind's order.
    Translations of items not written (a deleted fact) are left out with them."""
    by_key: dict[tuple[str, object, str], Translation] = {
        (row.kind, row.item_id, row.field): row for row in translations
    }
    tables: list[tuple[str, dict[str, Any]]] = []
    for kind in KINDS:
        for item in rows.get(kind.table, ()):
            item_id = getattr(item, "id", None)
            by_origin: dict[str, dict[str, Any]] = {}
            for name in kind.translated:
                found = by_key.get((kind.noun, item_id, name))
                if found is not None:
                    origin = found.source_id or OURS
                    entry = by_origin.setdefault(origin, {"id": found.item_id, "source": origin})
                    entry[name] = found.text
            tables += [(kind.table, entry) for entry in by_origin.values()]
    return tables


def source_files(rows: Mapping[str, Sequence[Base]], content_dir: Path) -> dict[str, bytes]:
    """The texts that sources keep as files, from the content folder, by relative path."""
    found = {}
    root = content_dir.resolve()
    for source in rows.get("sources", ()):
        relative = getattr(source, "file", None)
        if relative is None:
            continue
        text = getattr(source, "text", None)
        if text is not None:
            # Added from a link: the text is in the database, not in content/.
            found[Path(relative).as_posix()] = text.encode()
            continue
        path = (root / relative).resolve()
        if path.is_relative_to(root) and path.is_file():
            found[Path(relative).as_posix()] = path.read_bytes()
    return found


def zipped(files: Mapping[str, bytes]) -> bytes:
    """One archive of the files, paths as given: unpacked, it is a content folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
    return buffer.getvalue()
