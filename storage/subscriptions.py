"""Which chats want digests, and what kind."""

from __future__ import annotations

import dataclasses

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage import chats
from storage.chats import Sighting
from storage.models import Subscription


async def get(session: AsyncSession, chat_id: int) -> Subscription | None:
    return await session.get(Subscription, chat_id)


async def subscribe(session: AsyncSession, seen: Sighting) -> tuple[Subscription, bool]:
    """The chat's subscription, made with the defaults if it had none; True if it is new.

    The chat is recorded (and made active again) in the same transaction, so a chat that
    had blocked the bot and comes back is messaged again from now on.
    """
    await chats.remember(session, [dataclasses.replace(seen, returning=True)])
    existing = await get(session, seen.chat_id)
    if existing is not None:
        return existing, False
    subscription = Subscription(
        chat_id=seen.chat_id,
        events=True,
        news=True,
        lead_times=None,
        created_at=seen.at,
        updated_at=seen.at,
    )
    session.add(subscription)
    await session.flush()
    return subscription, True


async def unsubscribe(session: AsyncSession, chat_id: int) -> bool:
    """Stop all digests to the chat; False if it was not subscribed."""
    result = await session.execute(delete(Subscription).where(Subscription.chat_id == chat_id))
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a DML result has a rowcount
