"""The chats the bot has heard from, and what happens when one leaves or changes its id."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, literal, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import changes
from storage.bot_models import Chat, Delivery, Subscription
from storage.dialect import insert_new, upsert
from storage.digests import DeliveryStatus


@dataclass(frozen=True)
class Sighting:
    """A chat as the bot saw it at one moment."""

    chat_id: int
    type: str
    title: str | None
    language: str | None
    at: datetime
    # The chat sent /start: if it had left, it is back, and digests may reach it again.
    returning: bool = False


async def private_names(session: AsyncSession, user_ids: Collection[int]) -> dict[int, str]:
    """The names of these users' private chats with the bot, as last seen."""
    if not user_ids:
        return {}
    found = await session.execute(
        select(Chat.id, Chat.title).where(
            Chat.id.in_(user_ids), Chat.type == "private", Chat.title.is_not(None)
        )
    )
    return {user_id: title for user_id, title in found if title}


async def remember(session: AsyncSession, sightings: Sequence[Sighting]) -> None:
    """Record that chats were seen, in one statement.

    A chat that had blocked the bot stays inactive: only /start, /subscribe or the bot's return
    to it (``set_present``) bring it back, never a stray message or a sighting saved after it
    left.
    """
    if not sightings:
        return
    statement = upsert(session, Chat)
    changes = {
        "type": statement.excluded.type,
        "title": statement.excluded.title,
        # The chat's language is Telegram's at first contact; then only /language changes it.
        "language": func.coalesce(Chat.language, statement.excluded.language),
        "last_seen": statement.excluded.last_seen,
    }
    rows = [
        {
            "id": seen.chat_id,
            "type": seen.type,
            "title": seen.title,
            "language": seen.language,
            "active": True,
            "first_seen": seen.at,
            "last_seen": seen.at,
        }
        for seen in sightings
    ]
    await session.execute(
        statement.on_conflict_do_update(index_elements=[Chat.id], set_=changes), rows
    )
    back = [seen.chat_id for seen in sightings if seen.returning]
    if back:
        await session.execute(update(Chat).where(Chat.id.in_(back)).values(active=True))


async def set_present(session: AsyncSession, seen: Sighting, *, present: bool) -> None:
    """Record that the bot was added to the chat or removed from it (for a private chat: the
    user unblocked or blocked it); only a chat where the bot is present gets digests."""
    await remember(session, [seen])
    await session.execute(update(Chat).where(Chat.id == seen.chat_id).values(active=present))


async def deactivate(session: AsyncSession, *, chat_id: int, reason: str, now: datetime) -> None:
    """The chat blocked the bot or is gone: no digest goes to it until it comes back."""
    await session.execute(update(Chat).where(Chat.id == chat_id).values(active=False))
    await session.execute(
        update(Delivery)
        .where(Delivery.chat_id == chat_id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SKIPPED, error=reason, updated_at=now)
    )


async def migrate_chat(session: AsyncSession, *, old: int, new: int, now: datetime) -> None:
    """A group became a supergroup with a new id: its chat, subscription and pending deliveries
    move to the new id. The old chat row stays, inactive, as a record.
    """
    copy = select(
        literal(new),
        literal("supergroup"),
        Chat.title,
        Chat.language,
        Chat.zone,
        true(),
        Chat.first_seen,
        literal(now, Chat.last_seen.type),
    ).where(Chat.id == old)
    columns = ["id", "type", "title", "language", "zone", "active", "first_seen", "last_seen"]
    await session.execute(insert_new(session, Chat).from_select(columns, copy))
    await session.execute(update(Chat).where(Chat.id == new).values(active=True))
    # The new id may already have a subscription of its own; then that one stands.
    taken = select(Subscription.chat_id).where(Subscription.chat_id == new).exists()
    await session.execute(
        update(Subscription).where(Subscription.chat_id == old, ~taken).values(chat_id=new)
    )
    await session.execute(delete(Subscription).where(Subscription.chat_id == old))
    await session.execute(update(Chat).where(Chat.id == old).values(active=False))
    moved = and_(Delivery.chat_id == old, Delivery.status == DeliveryStatus.PENDING)
    # A digest the new id already has a delivery of stays as it is (one delivery per chat).
    other = aliased(Delivery)
    held = select(other.chat_id).where(other.digest_id == Delivery.digest_id, other.chat_id == new)
    await session.execute(
        update(Delivery)
        .where(moved, ~held.exists())
        .values(chat_id=new, error=f"migrated from {old}", updated_at=now)
    )
    await session.execute(
        update(Delivery)
        .where(moved)
        .values(status=DeliveryStatus.SKIPPED, error=f"migrated to {new}", updated_at=now)
    )


@dataclass(frozen=True)
class Preference:
    """How a chat reads the bot: its language and zone; None is the default for either."""

    language: str | None
    zone: str | None


async def preferences(session: AsyncSession) -> dict[int, Preference]:
    """Every chat's language and zone, for a bot that starts: read once, then kept in memory."""
    found = await session.execute(
        select(Chat.id, Chat.language, Chat.zone).where(
            or_(Chat.language.is_not(None), Chat.zone.is_not(None))
        )
    )
    return {chat_id: Preference(language, zone) for chat_id, language, zone in found}


async def preferences_of(
    session: AsyncSession, chat_ids: Collection[int]
) -> dict[int, Preference]:
    """These chats' language and zone as written now (another process may have changed them)."""
    found = await session.execute(
        select(Chat.id, Chat.language, Chat.zone).where(Chat.id.in_(chat_ids))
    )
    return {chat_id: Preference(language, zone) for chat_id, language, zone in found}


async def prefer(session: AsyncSession, seen: Sighting, preference: Preference) -> None:
    """Record the chat's choice of language and zone (a zone of None: the bot's), and tell the
    other processes on the database which chat chose (storage/changes.py)."""
    await remember(session, [seen])
    await session.execute(
        update(Chat)
        .where(Chat.id == seen.chat_id)
        .values(language=preference.language, zone=preference.zone)
    )
    await changes.tell_preferences(session, seen.chat_id)
