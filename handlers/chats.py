"""Remembering every chat that talks to the bot, without making any reply wait for a write.

Chats seen are noted in memory before any other handler runs, and written in one transaction
a second later by a job (and at shutdown). A chat lost to a crash in that second is noted again
the next time it writes; nothing that matters to a user depends on this table being instant.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.ext import TypeHandler

from bot.context import App, BotData, Context
from storage import chats
from storage.chats import Sighting

# Seeing a chat again sooner than this does not write it again.
REFRESH = timedelta(hours=1)
SAVE_INTERVAL_SECONDS = 1.0
# The memory of recent chats is dropped whole past this size: a cheap bound, at the cost of one
# extra write per chat after a reset.
MAX_REMEMBERED = 100_000


async def note_chat(update: Update, context: Context) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    data = context.bot_data
    now = data.clock.now()
    last = data.chats_seen.get(chat.id)
    if last is not None and now - last < REFRESH:
        return
    if len(data.chats_seen) >= MAX_REMEMBERED:
        data.chats_seen.clear()
    data.chats_seen[chat.id] = now
    user = update.effective_user
    data.chats_unsaved[chat.id] = Sighting(
        chat_id=chat.id,
        type=chat.type,
        title=chat.title or chat.username or chat.first_name,
        language=user.language_code if user else None,
        at=now,
    )


async def save_chats(data: BotData) -> None:
    """Write the chats noted since the last save, all in one transaction."""
    if not data.chats_unsaved:
        return
    batch, data.chats_unsaved = data.chats_unsaved, {}
    try:
        async with data.sessions.begin() as session:
            await chats.remember(session, list(batch.values()))
    except Exception:
        # Keep them for the next try; newer sightings of the same chats win.
        data.chats_unsaved = batch | data.chats_unsaved
        raise


async def save_chats_job(context: Context) -> None:
    await save_chats(context.bot_data)


def register(app: App) -> None:
    # Group -1 runs before the feature handlers in group 0 and does not stop them.
    app.add_handler(TypeHandler(Update, note_chat), group=-1)
    assert app.job_queue is not None  # the builder is always given one
    app.job_queue.run_repeating(
        save_chats_job, interval=SAVE_INTERVAL_SECONDS, first=SAVE_INTERVAL_SECONDS
    )
