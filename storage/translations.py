"""Translations written by admins from Telegram: checked against what the admin saw, recorded.

As with the items (storage/curation.py), the write and its ``Change`` go in the caller's
transaction; the change names the translated item's id, so /history of an item shows its
translations too, as changes of kind "translation". The admin's preview names the translation
as it was shown (its text and source, or none); if it is otherwise now, nothing is written and
``Conflict`` says who changed it. A translation written here has origin "admin", which
``coopbot content sync`` keeps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.curation import Conflict, snapshot
from storage.models import Action, Change, Translation

# What a change to a translation is recorded as, beside the items' own kinds.
KIND = "translation"


@dataclass(frozen=True)
class Wanted:
    """Which translation: one field of one item in one language."""

    kind: str
    item_id: str
    field: str
    language: str


# A translation as an admin was shown it: its text and source (None: ours), or None if none.
Seen = tuple[str, str | None] | None


async def current(session: AsyncSession, wanted: Wanted) -> Translation | None:
    key = (wanted.kind, wanted.item_id, wanted.field, wanted.language)
    return await session.get(Translation, key)


def seen_of(row: Translation | None) -> Seen:
    return None if row is None else (row.text, row.source_id)


async def put(
    session: AsyncSession,
    wanted: Wanted,
    *,
    text: str,
    source_id: str | None,
    seen: Seen,
    admin_id: int,
    now: datetime,
) -> Change:
    """Write the translation, unless it is no longer as the admin saw it (``Conflict``)."""
    row = await current(session, wanted)
    if seen_of(row) != seen:
        raise Conflict(KIND, wanted.item_id, await latest(session, wanted))
    before = None if row is None else snapshot(row).to_json()
    if row is None:
        row = Translation(
            kind=wanted.kind,
            item_id=wanted.item_id,
            field=wanted.field,
            language=wanted.language,
            text=text,
            source_id=source_id,
            origin="admin",
            updated_at=now,
        )
        session.add(row)
    else:
        row.text, row.source_id, row.origin, row.updated_at = text, source_id, "admin", now
    await session.flush()
    done = Change(
        at=now,
        admin_id=admin_id,
        kind=KIND,
        item_id=wanted.item_id,
        action=Action.ADD if before is None else Action.EDIT,
        before=before,
        after=snapshot(row).to_json(),
    )
    session.add(done)
    await session.flush()
    return done


async def latest(session: AsyncSession, wanted: Wanted) -> Change | None:
    """The last admin change to this one translation, if an admin made one."""
    found = await session.scalars(
        select(Change)
        .where(Change.kind == KIND, Change.item_id == wanted.item_id)
        .order_by(Change.id.desc())
    )
    for change in found:
        after = json.loads(change.after or "{}")
        if (after.get("kind"), after.get("field"), after.get("language")) == (
            wanted.kind,
            wanted.field,
            wanted.language,
        ):
            return change
    return None
