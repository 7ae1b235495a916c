"""Importing checked content from an admin: what it would change, and then changing it.

Like ``coopbot content sync`` it creates and updates but never deletes, and it leaves alone an
item an admin changed from Telegram (added, edited, deleted, cancelled, reverted), so that a file
exported last week cannot silently undo today's edits; translations, from an /export zip's
``translations/`` files, likewise. Unlike a sync, it is an admin's change:
every item it creates or updates gets origin "admin" and a ``Change`` with action "import", so
/history shows it and a later sync keeps it. An item whose last change was an import may be
imported over again. The order of existing items is kept: only new items take their file's place.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import curation, translations
from storage.models import Action, Base, Change, Fact, ItemKind, Translation
from storage.sync import KINDS, ContentRecords, Record, translation_key

NOUNS = {
    "sources": ItemKind.SOURCE,
    "topics": ItemKind.TOPIC,
    "facts": ItemKind.FACT,
    "people": ItemKind.PERSON,
    "facilities": ItemKind.FACILITY,
    "events": ItemKind.EVENT,
}


class Effect(StrEnum):
    """What an import does to one item; a dry run lists the items by these."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    # Changed from Telegram since: the file's version is not taken.
    KEPT = "kept"


# The names handlers/admin_oversight.py imports; being rewritten in issue 13, it will name the
# Effect members, and then these go.
CREATED, UPDATED, UNCHANGED, KEPT = Effect.CREATED, Effect.UPDATED, Effect.UNCHANGED, Effect.KEPT
# Not compared: the file's order says nothing about where an existing item stands.
_IGNORED = frozenset({"id", "position"})


@dataclass(frozen=True)
class Outcome:
    """What the import does, or would do, to one item."""

    table: str
    item_id: str
    outcome: Effect
    # The fields that differ, for an update or a kept item.
    fields: tuple[str, ...] = ()


async def plan(
    session: AsyncSession, records: ContentRecords, tables: Collection[str]
) -> list[Outcome]:
    """What importing these kinds of the records would do, in dependency order; writes nothing."""
    planned = []
    for table, model in KINDS:
        if table not in tables:
            continue
        existing = await _existing(session, model, getattr(records, table))
        for record in getattr(records, table):
            row = existing.get(record["id"])
            planned.append(await _outcome(session, table, record, row))
    if TRANSLATIONS in tables:
        planned += [outcome for outcome, _ in await _translations(session, records)]
    return planned


# The kind of item an upload's translations files bring, after the items themselves.
TRANSLATIONS = "translations"


def _translation_label(record: Record) -> str:
    """A translation as a dry run names it: its item and language ("ibr-2 ru")."""
    return f"{record['item_id']} {record['language']}"


async def _translations(
    session: AsyncSession, records: ContentRecords
) -> list[tuple[Outcome, Record]]:
    """What importing the translations would do, each with its record, like the items': a
    translation a curator wrote from Telegram, not by an import, is kept."""
    existing = {translation_key(row): row for row in await session.scalars(select(Translation))}
    found = []
    for record in records.translations:
        row = existing.get(translation_key(record))
        label, fields = _translation_label(record), (record["field"],)
        if row is None:
            effect = Effect.CREATED
        elif (row.text, row.source_id) == (record["text"], record["source_id"]):
            effect = Effect.UNCHANGED
        elif row.origin == "admin" and not await _imported_last(session, row):
            effect = Effect.KEPT
        else:
            effect = Effect.UPDATED
        found.append((Outcome(TRANSLATIONS, label, effect, fields), record))
    return found


async def _imported_last(session: AsyncSession, row: Translation) -> bool:
    wanted = translations.Wanted(row.kind, row.item_id, row.field, row.language)
    latest = await translations.latest(session, wanted)
    return latest is not None and latest.action == Action.IMPORT


async def apply(
    session: AsyncSession,
    records: ContentRecords,
    tables: Collection[str],
    *,
    admin_id: int,
    now: datetime,
) -> list[Outcome]:
    """Create and update what ``plan`` says, each with its Change; never commits."""
    outcomes = await plan(session, records, tables)
    models = dict(KINDS)
    by_id = {
        (table, r["id"]): r for table in tables & models.keys() for r in getattr(records, table)
    }
    for outcome in outcomes:
        if outcome.outcome not in (Effect.CREATED, Effect.UPDATED) or outcome.table not in models:
            continue
        model = models[outcome.table]
        record = by_id[outcome.table, outcome.item_id]
        if outcome.outcome == Effect.CREATED:
            row = model(**record, **_admin_marks(model, now))
            session.add(row)
            before = None
        else:
            row = await session.get_one(model, outcome.item_id)
            before = curation.snapshot(row).to_json()
            for name, value in {**record, **_admin_marks(model, now)}.items():
                if name in outcome.fields or name in ("origin", "updated_at"):
                    setattr(row, name, value)
        # Per item, in dependency order: a new fact's topic is in the database before the fact.
        await session.flush()
        session.add(
            Change(
                at=now,
                admin_id=admin_id,
                kind=NOUNS[outcome.table],
                item_id=outcome.item_id,
                action=Action.IMPORT,
                before=before,
                after=curation.snapshot(row).to_json(),
            )
        )
    if TRANSLATIONS in tables:
        for outcome, record in await _translations(session, records):
            if outcome.outcome in (Effect.CREATED, Effect.UPDATED):
                await _import_translation(session, record, admin_id=admin_id, now=now)
    await session.flush()
    return outcomes


async def _import_translation(
    session: AsyncSession, record: Record, *, admin_id: int, now: datetime
) -> None:
    """One translation written as an import, with its Change (kind "translation")."""
    row = await session.get(Translation, translation_key(record))
    before = None if row is None else curation.snapshot(row).to_json()
    if row is None:
        row = Translation(**record)
        session.add(row)
    row.text, row.source_id, row.origin, row.updated_at = (
        record["text"],
        record["source_id"],
        "admin",
        now,
    )
    await session.flush()
    session.add(
        Change(
            at=now,
            admin_id=admin_id,
            kind=translations.KIND,
            item_id=record["item_id"],
            action=Action.IMPORT,
            before=before,
            after=curation.snapshot(row).to_json(),
        )
    )


def _admin_marks(model: type[Base], now: datetime) -> dict[str, Any]:
    """Origin "admin" and the times, for the models that keep them (topics keep neither)."""
    marks: dict[str, Any] = {"origin": "admin"} if hasattr(model, "origin") else {}
    if hasattr(model, "updated_at"):
        marks |= {"created_at": now, "updated_at": now}
    return marks


async def _existing(
    session: AsyncSession, model: type[Base], records: Sequence[Record]
) -> dict[str, Any]:
    key = model.__table__.c.id
    found = await session.execute(select(key, model).where(key.in_([r["id"] for r in records])))
    return {item_id: row for item_id, row in found}


async def _outcome(session: AsyncSession, table: str, record: Record, row: Any) -> Outcome:
    item_id = record["id"]
    if row is None:
        return Outcome(table, item_id, Effect.CREATED)
    fields = tuple(
        name
        for name, value in record.items()
        if name not in _IGNORED and getattr(row, name) != value
    )
    hidden = isinstance(row, Fact) and row.deleted_at is not None
    if not fields and not hidden:
        return Outcome(table, item_id, Effect.UNCHANGED)
    if await _touched_by_admin(session, table, row):
        return Outcome(table, item_id, Effect.KEPT, fields)
    return Outcome(table, item_id, Effect.UPDATED if fields else Effect.UNCHANGED, fields)


async def _touched_by_admin(session: AsyncSession, table: str, row: Any) -> bool:
    """Changed from Telegram by hand, not only by imports."""
    if getattr(row, "origin", "content") != "admin":
        return False
    latest = await curation.latest_change(session, NOUNS[table], row.id)
    return latest is None or latest.action != Action.IMPORT
