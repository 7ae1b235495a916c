"""Queries over the sources curated items cite."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Source


async def by_id(session: AsyncSession, ids: Iterable[str]) -> dict[str, Source]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.scalars(select(Source).where(Source.id.in_(wanted)))
    return {source.id: source for source in rows}
