"""Bring the database in line with the curated content, without losing what admins changed.

Content is the seed, not the master copy: rows are inserted or updated from it but never deleted,
and a row an admin edited or added from Telegram (origin "admin") is left as the admin left it.
Translations follow the same rules, keyed by what they translate instead of an id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Agreement,
    Base,
    Event,
    Facility,
    Fact,
    Person,
    Role,
    Source,
    Topic,
    Translation,
    new_row_times,
    reschedule,
    utcnow,
)

Record = dict[str, Any]

# Dependency order: facts refer to topics, roles to people, and everything to sources.
KINDS: tuple[tuple[str, type[Base]], ...] = (
    ("sources", Source),
    ("topics", Topic),
    ("facts", Fact),
    ("people", Person),
    ("roles", Role),
    ("facilities", Facility),
    ("events", Event),
    ("agreements", Agreement),
)


@dataclass(frozen=True)
class ContentRecords:
    """Checked content, one tuple per kind, each item a dict of model column values."""

    sources: tuple[Record, ...] = ()
    topics: tuple[Record, ...] = ()
    facts: tuple[Record, ...] = ()
    people: tuple[Record, ...] = ()
    roles: tuple[Record, ...] = ()
    facilities: tuple[Record, ...] = ()
    events: tuple[Record, ...] = ()
    agreements: tuple[Record, ...] = ()
    # Each a row of ``translations`` without its bookkeeping (origin, updated_at).
    translations: tuple[Record, ...] = ()


# What identifies a translation: the item's kind and id, the field, the language.
TRANSLATION_KEY = ("kind", "item_id", "field", "language")


@dataclass(frozen=True)
class KindCounts:
    """What one sync did to the rows of one kind."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0

    def __str__(self) -> str:
        parts = [
            f"{count} {outcome}"
            for outcome, count in (
                ("created", self.created),
                ("updated", self.updated),
                ("unchanged", self.unchanged),
                ("kept (edited by an admin)", self.kept),
            )
            if count
        ]
        return ", ".join(parts) or "nothing"


@dataclass(frozen=True)
class SyncReport:
    """Counts per kind, in dependency order, for the log and for the admin who ran the sync."""

    kinds: dict[str, KindCounts] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        """How many rows were created or updated in all."""
        return sum(counts.created + counts.updated for counts in self.kinds.values())

    def __str__(self) -> str:
        return "\n".join(f"{kind}: {counts}" for kind, counts in self.kinds.items())


async def sync_content(
    session: AsyncSession, records: ContentRecords, *, now: datetime | None = None
) -> SyncReport:
    """Upsert every record by id; never deletes, never touches admin rows, never commits.

    ``now`` (the machine's clock by default) stamps the rows it creates or changes.
    """
    kinds: dict[str, KindCounts] = {}
    # One time for the whole load: the first one is the record a summary does not call new.
    stamp = now if now is not None else utcnow()
    for kind, model in KINDS:
        kinds[kind] = await _sync_kind(session, model, getattr(records, kind), stamp=stamp)
        # Flushing per kind sends rows in dependency order and surfaces a broken reference here,
        # inside the caller's transaction, rather than at its commit.
        await session.flush()
    kinds["translations"] = await _sync_translations(session, records.translations, stamp=stamp)
    await session.flush()
    return SyncReport(kinds)


async def _sync_kind(
    session: AsyncSession, model: type[Base], records: tuple[Record, ...], *, stamp: datetime
) -> KindCounts:
    ids = [record["id"] for record in records]
    key = model.__table__.c.id
    result = await session.execute(select(key, model).where(key.in_(ids)))
    existing: dict[str, Base] = {row_id: row for row_id, row in result}
    created = updated = unchanged = kept = 0
    for record in records:
        row = existing.get(record["id"])
        if row is None:
            session.add(model(**record, **new_row_times(model, stamp)))
            created += 1
        elif getattr(row, "origin", "content") == "admin":
            kept += 1
        else:
            changes = {k: v for k, v in record.items() if getattr(row, k) != v}
            if isinstance(row, Event):
                # Content carries no clock of its own: the load is when it became known.
                reschedule(row, changes, now=stamp)
            for name, value in changes.items():
                setattr(row, name, value)
            if changes and hasattr(row, "updated_at"):
                row.updated_at = stamp
            if changes:
                updated += 1
            else:
                unchanged += 1
    return KindCounts(created=created, updated=updated, unchanged=unchanged, kept=kept)


def translation_key(row: Record | Translation) -> tuple[str, str, str, str]:
    """What a translation translates, from a record or a row."""
    if isinstance(row, Translation):
        return row.kind, row.item_id, row.field, row.language
    kind, item_id, field, language = (row[name] for name in TRANSLATION_KEY)
    return kind, item_id, field, language


async def _sync_translations(
    session: AsyncSession, records: tuple[Record, ...], *, stamp: datetime
) -> KindCounts:
    """As ``_sync_kind``, keyed by what each translates; all are read, as they are few."""
    existing = {translation_key(row): row for row in await session.scalars(select(Translation))}
    created = updated = unchanged = kept = 0
    for record in records:
        row = existing.get(translation_key(record))
        if row is None:
            session.add(Translation(**record, origin="content", updated_at=stamp))
            created += 1
        elif row.origin == "admin":
            kept += 1
        elif (row.text, row.source_id) != (record["text"], record["source_id"]):
            row.text, row.source_id, row.updated_at = record["text"], record["source_id"], stamp
            updated += 1
        else:
            unchanged += 1
    return KindCounts(created=created, updated=updated, unchanged=unchanged, kept=kept)
