"""Which chats want digests, and what kind."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import chats
from storage.chats import Sighting
from storage.models import Subscription


async def get(session: AsyncSession, chat_id: int) -> Subscription | None:
    return await session.get(Subscription, chat_id)


async def subscribe(
    session: AsyncSession, seen: Sighting, *, thread_id: int | None = None
) -> tuple[Subscription, bool]:
    """The chat's subscription, made with the defaults if it had none; True if it is new.

    The chat is recorded (and made active again) in the same transaction, so a chat that
    had blocked the bot and comes back is messaged again from now on. Digests go to the forum
    topic `thread_id` from now on: the one the latest /subscribe came from.
    """
    await chats.remember(session, [dataclasses.replace(seen, returning=True)])
    existing = await get(session, seen.chat_id)
    if existing is not None:
        existing.thread_id = thread_id
        return existing, False
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
    return subscription, True


async def topics(session: AsyncSession, chat_ids: Sequence[int]) -> dict[int, int]:
    """The forum topic each of these chats' digests go to, for those that chose one."""
    rows = await session.execute(
        select(Subscription.chat_id, Subscription.thread_id).where(
            Subscription.chat_id.in_(chat_ids), Subscription.thread_id.is_not(None)
        )
    )
    return {chat_id: thread_id for chat_id, thread_id in rows if thread_id is not None}


async def unsubscribe(session: AsyncSession, chat_id: int) -> bool:
    """Stop all digests to the chat; False if it was not subscribed."""
    result = await session.execute(delete(Subscription).where(Subscription.chat_id == chat_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a DML result has a rowcount
