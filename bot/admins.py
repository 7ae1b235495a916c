"""Curators: the numeric Telegram user ids in ``[admins] user_ids``, and the gate on their tools.

Ids, never usernames: a username can be changed or taken over, an id cannot. Every admin
handler is registered with ``only_admins``; ``handlers/admin.py`` answers everyone else.
"""

from __future__ import annotations

import logging

from telegram import BotCommand, Update, User
from telegram.ext import filters

from bot.context import Context, texts
from bot.replies import reply
from bot.settings import Settings
from bot.texts import Texts
from storage import curation

log = logging.getLogger(__name__)

# Every admin command, in the order the admin menu and the admin /help list them.
ADMIN_COMMANDS = (
    "addfact",
    "editfact",
    "delfact",
    "restore",
    "addevent",
    "editevent",
    "cancelevent",
    "history",
    "revert",
    "broadcast",
    "stats",
    "export",
    "import",
)


def is_admin(settings: Settings, user: User | None) -> bool:
    return user is not None and user.id in settings.admin_ids


def admin_users(settings: Settings) -> filters.User:
    """Updates from an admin, wherever they are sent; an empty list lets nobody through."""
    return filters.User(user_id=settings.admin_ids)


def only_admins(settings: Settings) -> filters.BaseFilter:
    """An admin in their private chat with the bot: what every admin handler is registered with."""
    return admin_users(settings) & filters.ChatType.PRIVATE


def admin_menu(t: Texts) -> list[BotCommand]:
    """The admin's extra commands, for setMyCommands in each admin's private chat."""
    return [BotCommand(name, t(f"admin_command.{name}")) for name in ADMIN_COMMANDS]


async def refuse_and_record(update: Update, context: Context, command: str) -> None:
    """Someone who is not an admin tried `command`: a polite no, and a row saying who and where."""
    user, chat = update.effective_user, update.effective_chat
    data = context.bot_data
    async with data.sessions.begin() as session:
        await curation.refuse(
            session,
            user_id=user.id if user else None,
            username=user.username if user else None,
            chat_id=chat.id if chat else None,
            command=command,
            now=data.clock.now(),
        )
    log.info("refused %s to user %s", command, user.id if user else None)
    await reply(update, texts(update)("admin.refused"))
