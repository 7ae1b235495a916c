"""Queries over the facilities the sources mention."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Facility
from storage.paging import Page, fetch_page


async def page(session: AsyncSession, *, number: int, size: int) -> Page[Facility]:
    query = select(Facility).order_by(Facility.position, Facility.id)
    return await fetch_page(session, query, number=number, size=size)


async def get(session: AsyncSession, facility_id: str) -> Facility | None:
    return await session.get(Facility, facility_id)
