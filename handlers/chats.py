"""Remembering every chat that talks to the bot, before any other handler runs."""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.ext import TypeHandler

from bot.context import App, Context
from storage import chats

# Seeing a chat again sooner than this does not touch the database.
REFRESH = timedelta(hours=1)
# The memory of recent chats is dropped whole past this size: a cheap bound, at the cost of one
# extra write per chat after a reset.
MAX_REMEMBERED = 100_000


async def remember_chat(update: Update, context: Context) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    data = context.bot_data
    now = data.clock.now()
    last = data.chats_seen.get(chat.id)
    if last is not None and now - last < REFRESH:
        return
    user = update.effective_user
    async with data.sessions.begin() as session:
        await chats.remember(
            session,
            chat_id=chat.id,
            type=chat.type,
            title=chat.title or chat.username or chat.first_name,
            language=user.language_code if user else None,
            now=now,
        )
    if len(data.chats_seen) >= MAX_REMEMBERED:
        data.chats_seen.clear()
    data.chats_seen[chat.id] = now


def register(app: App) -> None:
    # Group -1 runs before the feature handlers in group 0 and does not stop them.
    app.add_handler(TypeHandler(Update, remember_chat), group=-1)
