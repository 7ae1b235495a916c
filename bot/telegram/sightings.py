"""Chats noted in memory as updates arrive, and written in batches.

Noting a chat costs no write, so no reply waits for the database. The batch goes out a second
later (a job), at shutdown, and before each digest tick, so the tick sees a chat that came back.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.constants import ChatType

from bot.context import BotData
from bot.texts import texts_for
from storage import chats
from storage.chats import Sighting

# Seeing a chat again sooner than this does not write it again, unless it came back.
REFRESH = timedelta(hours=1)
# The memory of recent chats is dropped whole past this size: a cheap bound, at the cost of one
# extra write per chat after a reset.
MAX_REMEMBERED = 100_000
# The commands by which a chat that blocked the bot says it is back.
RETURNING = ("/start",)


def note(data: BotData, update: Update) -> None:
    """Remember that the update's chat was seen; a /start also makes it active again."""
    chat = update.effective_chat
    if chat is None:
        return
    user = update.effective_user
    if user is not None and user.id in data.settings.admin_ids:
        data.admin_names[user.id] = user.full_name
    language = _language(update)
    data.preferences.meet(chat.id, language)
    now = data.clock.now()
    # Only what the user typed: a button press carries the bot's own message.
    message = update.message
    words = (message.text or "").split(maxsplit=1) if message else []
    command = words[0].split("@")[0] if words else ""
    returning = command in RETURNING
    last = data.chats_seen.get(chat.id)
    if not returning and last is not None and now - last < REFRESH:
        return
    if len(data.chats_seen) >= MAX_REMEMBERED:
        data.chats_seen.clear()
    data.chats_seen[chat.id] = now
    earlier = data.chats_unsaved.get(chat.id)
    data.chats_unsaved[chat.id] = Sighting(
        chat_id=chat.id,
        type=chat.type,
        # A private chat is the user's: their full name, as Telegram gives it now.
        title=user.full_name if user and chat.type == ChatType.PRIVATE else chat.effective_name,
        language=language,
        at=now,
        returning=returning or (earlier is not None and earlier.returning),
    )


def _language(update: Update) -> str | None:
    """The bot's language for the sender's Telegram one (English for those we do not have)."""
    user = update.effective_user
    return texts_for(user.language_code).language if user else None


async def load_admin_names(data: BotData) -> None:
    """The admins' names as their private chats were last seen, for a bot that starts."""
    async with data.sessions() as session:
        data.admin_names.update(await chats.private_names(session, data.settings.admin_ids))


def take(data: BotData, chat_id: int) -> Sighting | None:
    """The chat's sighting not yet written, which the caller now writes itself."""
    return data.chats_unsaved.pop(chat_id, None)


async def save(data: BotData) -> None:
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
