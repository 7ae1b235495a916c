"""Which chats want digests, and what kind."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import chats
from storage.bot_models import Subscription
from storage.chats import Sighting


async def get(session: AsyncSession, chat_id: int) -> Subscription | None:
    """The chat's subscription, unless it unsubscribed."""
    found = await session.get(Subscription, chat_id)
    return found if found is not None and found.active else None


# What /subscribe found: no subscription, one the chat had left, or one in force.
NEW, BACK, ALREADY = "new", "back", "already"


async def subscribe(
    session: AsyncSession, seen: Sighting, *, thread_id: int | None = None
) -> tuple[Subscription, str]:
    """The chat's subscription, made with the defaults if it never had one (NEW), or with the
    settings it had when it unsubscribed (BACK), or as it is (ALREADY).

    The chat is recorded (and made active again) in the same transaction, so a chat that
    had blocked the bot and comes back is messaged again from now on. Digests go to the forum
    topic `thread_id` from now on: the one the latest /subscribe came from.
    """
    await chats.remember(session, [dataclasses.replace(seen, returning=True)])
    existing = await session.get(Subscription, seen.chat_id)
    if existing is not None:
        found = ALREADY if existing.active else BACK
        existing.active, existing.thread_id = True, thread_id
        if found == BACK:
            existing.updated_at = seen.at
        return existing, found
    subscription = Subscription(
        chat_id=seen.chat_id,
        events=True,
        news=True,
        lead_times=None,
        thread_id=thread_id,
        created_at=seen.at,
        updated_at=seen.at,
    )
    session.add(subscription)
    await session.flush()
    return subscription, NEW


async def topics(session: AsyncSession, chat_ids: Sequence[int]) -> dict[int, int]:
    """The forum topic each of these chats' digests go to, for those that chose one."""
    rows = await session.execute(
        select(Subscription.chat_id, Subscription.thread_id).where(
            Subscription.chat_id.in_(chat_ids), Subscription.thread_id.is_not(None)
        )
    )
    return {chat_id: thread_id for chat_id, thread_id in rows if thread_id is not None}


async def unsubscribe(session: AsyncSession, chat_id: int, *, now: datetime) -> bool:
    """Stop all digests to the chat, keeping its settings for a later /subscribe; False if it
    was not subscribed."""
    result = await session.execute(
        update(Subscription)
        .where(Subscription.chat_id == chat_id, Subscription.active.is_(True))
        .values(active=False, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a DML result has a rowcount
