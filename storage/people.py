"""Queries over the people named in the curated sources."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Person


async def on_side(session: AsyncSession, side: str) -> Sequence[Person]:
    """The people of one side ("kazakhstan" or "jinr"), in the order the source names them."""
    query = select(Person).where(Person.side == side).order_by(Person.position, Person.id)
    return (await session.scalars(query)).all()
