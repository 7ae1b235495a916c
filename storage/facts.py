"""Queries over curated facts and the topics they are filed under."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Fact, Topic
from storage.paging import Page, fetch_page


async def topics(session: AsyncSession) -> Sequence[tuple[Topic, int]]:
    """Every topic that has facts, with how many, in curated order."""
    query = (
        select(Topic, func.count(Fact.id))
        .join(Fact, Fact.topic == Topic.id)
        .where(Fact.deleted_at.is_(None))
        .group_by(Topic.id)
        .order_by(Topic.position, Topic.id)
    )
    return [(topic, count) for topic, count in (await session.execute(query)).all()]


async def find_topic(session: AsyncSession, name: str) -> Topic | None:
    """A topic by its id or its title, ignoring case."""
    name = name.strip().lower()
    query = select(Topic).where((func.lower(Topic.id) == name) | (func.lower(Topic.title) == name))
    return (await session.scalars(query)).first()


async def page(session: AsyncSession, *, topic: str | None, number: int, size: int) -> Page[Fact]:
    """Facts in curated order, of one topic or of all."""
    query = (
        select(Fact)
        .join(Topic, Topic.id == Fact.topic)
        .where(Fact.deleted_at.is_(None))
        .order_by(Topic.position, Fact.position, Fact.id)
    )
    if topic is not None:
        query = query.where(Fact.topic == topic)
    return await fetch_page(session, query, number=number, size=size)


async def in_topic(session: AsyncSession, topic: str) -> Sequence[Fact]:
    query = (
        select(Fact)
        .where(Fact.topic == topic, Fact.deleted_at.is_(None))
        .order_by(Fact.position, Fact.id)
    )
    return (await session.scalars(query)).all()
