"""Counts for /stats: who receives digests, how the recent deliveries went, what is curated."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bot_models import Chat, Delivery, Digest, Refusal, Subscription
from storage.models import Base, Event, Facility, Fact, Person, Source, Topic

K = TypeVar("K")


@dataclass(frozen=True)
class Stats:
    subscribers_active: int
    subscribers_blocked: int
    # Deliveries touched since the cut-off, by status (storage.digests.DeliveryStatus).
    deliveries: Counter[str]
    # Of those, the ones of digests created late (e.g. after the bot was down).
    late: int
    facts_visible: int
    facts_deleted: int
    events_cancelled: int
    people: int
    facilities: int
    sources: int
    topics: int
    # Refused attempts since the cut-off (each row counts its repeats), and by how many users.
    refusals: int
    refused_users: int


async def collect(session: AsyncSession, *, since: datetime) -> Stats:
    """Everything /stats shows, read in one transaction so the numbers agree."""
    subscribers = await _grouped(
        session,
        select(Chat.active, func.count())
        .join(Subscription, Subscription.chat_id == Chat.id)
        .where(Subscription.active.is_(True))
        .group_by(Chat.active),
    )
    recent = Delivery.updated_at >= since
    deliveries = await _grouped(
        session,
        select(Delivery.status, func.count()).where(recent).group_by(Delivery.status),
    )
    late = await _count(
        session, select(func.count()).select_from(Delivery).join(Digest).where(recent, Digest.late)
    )
    deleted = Fact.deleted_at.is_not(None)
    cancelled = Event.status == "cancelled"
    refused = (
        await session.execute(
            select(func.sum(Refusal.count), func.count(distinct(Refusal.user_id))).where(
                Refusal.at >= since
            )
        )
    ).one()
    return Stats(
        subscribers_active=subscribers[True],
        subscribers_blocked=subscribers[False],
        deliveries=deliveries,
        late=late,
        facts_visible=await _rows(session, Fact, ~deleted),
        facts_deleted=await _rows(session, Fact, deleted),
        events_cancelled=await _rows(session, Event, cancelled),
        people=await _rows(session, Person),
        facilities=await _rows(session, Facility),
        sources=await _rows(session, Source),
        topics=await _rows(session, Topic),
        refusals=refused[0] or 0,
        refused_users=refused[1],
    )


async def _grouped(session: AsyncSession, query: Select[K, int]) -> Counter[K]:
    return Counter({key: count for key, count in await session.execute(query)})


async def _rows(session: AsyncSession, model: type[Base], *where: ColumnElement[bool]) -> int:
    return await _count(session, select(func.count()).select_from(model).where(*where))


async def _count(session: AsyncSession, query: Select[int]) -> int:
    return await session.scalar(query) or 0
