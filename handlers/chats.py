"""Remembering every chat that talks to the bot, before any other handler runs, and whether the
bot is still in it."""

from __future__ import annotations

import dataclasses
import logging

from telegram import ChatMember, Update
from telegram.ext import ChatMemberHandler, TypeHandler

from bot.context import App, Context
from bot.telegram import sightings
from storage import chats
from storage.chats import Sighting

log = logging.getLogger(__name__)

SAVE_INTERVAL_SECONDS = 1.0
# What the bot's own status says about it: in the chat (a group added it, a user unblocked it)
# or not (removed from the group, blocked by the user).
PRESENT = frozenset({ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER})


async def note_chat(update: Update, context: Context) -> None:
    sightings.note(context.bot_data, update)


async def note_membership(update: Update, context: Context) -> None:
    """The bot was added to a chat or removed from it: digests go, or stop going, there now,
    not only after a send fails."""
    change, chat = update.my_chat_member, update.effective_chat
    if change is None or chat is None:
        return
    member = change.new_chat_member
    # A restricted bot is still in the chat when Telegram says it is a member.
    present = member.status in PRESENT or bool(getattr(member, "is_member", False))
    data = context.bot_data
    # The sighting group -1 just noted: written here with the change, so that it cannot be
    # written later as a /start that brings the chat back after this.
    noted = sightings.take(data, chat.id)
    seen = noted or Sighting(
        chat_id=chat.id,
        type=chat.type,
        title=chat.title or chat.username or chat.first_name,
        language=None,
        at=data.clock.now(),
    )
    async with data.sessions.begin() as session:
        await chats.set_present(
            session, dataclasses.replace(seen, returning=False), present=present
        )
    log.info("chat %s: the bot is %s (%s)", chat.id, "in" if present else "out", member.status)


async def save_chats_job(context: Context) -> None:
    await sightings.save(context.bot_data)


def register(app: App) -> None:
    # Group -1 runs before the feature handlers in group 0 and does not stop them.
    app.add_handler(TypeHandler(Update, note_chat), group=-1)
    # First in group 0: no feature takes the bot's own membership.
    app.add_handler(ChatMemberHandler(note_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    assert app.job_queue is not None  # the builder is always given one
    app.job_queue.run_repeating(
        save_chats_job, interval=SAVE_INTERVAL_SECONDS, first=SAVE_INTERVAL_SECONDS
    )
