"""Keeping the bot's in-memory copy of the curated knowledge current."""

from __future__ import annotations

from telegram import Update

from bot.context import BotData, Context
from storage import knowledge


async def refresh(data: BotData, *, force: bool = False) -> bool:
    """Reload the knowledge if the database has a newer revision; True if it did."""
    async with data.sessions() as session:
        # One read transaction: the revision and the rows come from the same snapshot.
        current = await knowledge.revision(session)
        if not force and current == data.knowledge_revision:
            return False
        data.knowledge = await knowledge.load(session)
    data.knowledge_revision = current
    return True


async def keep_knowledge_fresh(update: Update, context: Context) -> None:
    """Before each update: reload if anyone (a sync, another process) changed the knowledge.

    The watch costs microseconds; the revision is read only after some commit, and the rows
    only when that commit touched curated tables. Chats whose language or zone another
    process wrote are read again too.
    """
    data = context.bot_data
    if data.changes.changed():
        await refresh(data)
    chosen = data.changes.chose()
    if chosen is None:
        await data.preferences.load(data.sessions)
    elif chosen:
        await data.preferences.reread(data.sessions, chosen)
