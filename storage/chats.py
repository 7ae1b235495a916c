"""The chats the bot has heard from."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Chat


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
    statement = insert(Chat)
    changes = {
        "type": statement.excluded.type,
        "title": statement.excluded.title,
        "language": statement.excluded.language,
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
