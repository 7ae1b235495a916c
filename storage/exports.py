"""The curated rows as content/ would list them: each kind in file order, deleted facts left out.

A deleted fact is left out rather than marked: content files have no way to say "deleted", and
``coopbot content sync`` never deletes, so leaving it out is what keeps it deleted on a round trip.
Translations come too, under ``translations``; the export writes those of the items it writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Base, Fact, Source, Translation
from storage.sync import KINDS

TRANSLATIONS = "translations"


async def content_rows(session: AsyncSession) -> Mapping[str, Sequence[Base]]:
    """Rows by table name (``facts``), in the order their file lists them."""
    rows: dict[str, Sequence[Base]] = {}
    for table, model in KINDS:
        columns = model.__table__.c
        # Sources have no order of their own: by id, so that exports compare well.
        order = [columns.id] if model is Source else [columns.position, columns.id]
        query = select(model).order_by(*order)
        if model is Fact:
            query = query.where(Fact.deleted_at.is_(None))
        rows[table] = (await session.scalars(query)).all()
    translations = select(Translation).order_by(
        Translation.language, Translation.kind, Translation.item_id, Translation.field
    )
    rows[TRANSLATIONS] = (await session.scalars(translations)).all()
    return rows
