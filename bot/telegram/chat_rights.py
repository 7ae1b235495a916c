"""Who may change how a chat works (its digests, language, zone), and the chat as seen then."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType

from bot.context import Context
from storage.chats import Sighting

ADMIN_STATUSES = {ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


async def may_change(update: Update, context: Context) -> bool:
    """Anyone in a private chat; in a group, only its admins (Telegram's word, asked each time)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in ADMIN_STATUSES


def sighting(update: Update, context: Context) -> Sighting:
    """The chat as this update shows it, for a write that must find its row there."""
    chat = update.effective_chat
    assert chat is not None  # commands and button presses always come from a chat
    return Sighting(
        chat_id=context.chat_id,
        type=chat.type,
        title=chat.title or chat.username or chat.first_name,
        language=context.language,
        at=context.now,
    )
