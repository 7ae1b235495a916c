"""Reading the history of admin changes across every kind of item, for /history and /revert."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Change


async def item_changes(
    session: AsyncSession, item_id: str, *, limit: int = 30
) -> Sequence[Change]:
    """Changes to whatever has this id (a fact and an event may share one), latest first."""
    found = await session.scalars(
        select(Change).where(Change.item_id == item_id).order_by(Change.id.desc()).limit(limit)
    )
    return found.all()


async def recent_changes(session: AsyncSession, *, limit: int = 10) -> Sequence[Change]:
    """The latest changes to anything, latest first."""
    found = await session.scalars(select(Change).order_by(Change.id.desc()).limit(limit))
    return found.all()


async def later_changes(session: AsyncSession, change: Change) -> Sequence[Change]:
    """Changes made to the same item after this one, latest first: what reverting it undoes too."""
    found = await session.scalars(
        select(Change)
        .where(Change.kind == change.kind, Change.item_id == change.item_id, Change.id > change.id)
        .order_by(Change.id.desc())
    )
    return found.all()
