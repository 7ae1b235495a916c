"""The chats the bot has heard from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Chat


async def remember(
    session: AsyncSession,
    *,
    chat_id: int,
    type: str,
    title: str | None,
    language: str | None,
    now: datetime,
) -> None:
    """Record that a chat was seen now; a chat that had left is active again."""
    values = {"type": type, "title": title, "language": language, "last_seen": now, "active": True}
    statement = insert(Chat).values(id=chat_id, first_seen=now, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=[Chat.id], set_=values))
