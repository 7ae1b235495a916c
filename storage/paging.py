"""One page of an ordered query, with what the reader needs to draw back/next buttons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    number: int
    count: int
    total: int

    @property
    def has_previous(self) -> bool:
        return self.number > 0

    @property
    def has_next(self) -> bool:
        return self.number + 1 < self.count


async def fetch_page(
    session: AsyncSession, query: Select[T], *, number: int, size: int
) -> Page[T]:
    """The ``number``-th page (clamped into range, so a stale button still lands somewhere)."""
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    total = total or 0
    count = max(1, -(-total // size))
    number = min(max(number, 0), count - 1)
    rows = await session.scalars(query.limit(size).offset(number * size))
    return Page(items=rows.all(), number=number, count=count, total=total)
