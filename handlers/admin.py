"""The gate around admin commands: refusals, the wrong chat, the admin /help and menu.

Admin features register their handlers with ``bot.admins.only_admins``; this module comes after
them and answers whatever they did not take: someone who is not an admin (refused politely, the
attempt recorded, nothing else written) and an admin writing from a group.
"""

from __future__ import annotations

import logging

from telegram import BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler, filters

from bot.admins import (
    ADMIN_COMMANDS,
    admin_menu,
    admin_users,
    only_admins,
    refuse_and_record,
)
from bot.commands import menu
from bot.context import App, Context, texts
from bot.replies import reply
from bot.texts import join, texts_for

log = logging.getLogger(__name__)


async def refuse(update: Update, context: Context) -> None:
    """Not an admin: say so kindly, and note who tried what."""
    message = update.effective_message
    command = (message.text or "").split()[0] if message and message.text else "?"
    await refuse_and_record(update, context, command)


async def wrong_chat(update: Update, context: Context) -> None:
    """An admin command in a group: curation happens in the private chat, out of others' sight."""
    await reply(update, texts(update)("admin.private_only", bot=context.bot.username))


async def admin_help(update: Update, context: Context) -> None:
    """The public help, then every admin command with its one-line form."""
    t = texts(update)
    lines = join([t(f"admin_help.{name}") for name in ADMIN_COMMANDS], "\n\n")
    await reply(update, join([t("help.body"), t("admin.help", commands=lines)], "\n\n"))


async def publish_admin_menus(app: App) -> None:
    """Each admin's private chat gets the public menu plus the admin commands."""
    t = texts_for(None)
    commands = [*menu(t), *admin_menu(t)]
    for admin_id in sorted(app.bot_data.settings.admin_ids):
        try:
            await app.bot.set_my_commands(commands, scope=BotCommandScopeChat(admin_id))
        except TelegramError as error:
            # Telegram knows no private chat until the admin has started the bot.
            log.warning(
                "no admin menu for %s yet (%s); it is set on their /start", admin_id, error
            )


async def admin_start(update: Update, context: Context) -> None:
    """An admin's /start also (re)publishes their menu, which needs the chat to exist."""
    user = update.effective_user
    assert user is not None  # the admin filter let it through
    t = texts_for(None)
    try:
        await context.bot.set_my_commands(
            [*menu(t), *admin_menu(t)], scope=BotCommandScopeChat(user.id)
        )
    except TelegramError as error:
        log.warning("could not set the admin menu for %s: %s", user.id, error)


def register_before_public(app: App) -> None:
    """Handlers that must see /help and /start before the public ones do."""
    admins = only_admins(app.bot_data.settings)
    app.add_handler(CommandHandler("help", admin_help, filters=admins))
    # Group 1: runs beside the public /start, which still answers with the welcome.
    app.add_handler(CommandHandler("start", admin_start, filters=admins), group=1)


def register(app: App) -> None:
    """After every admin feature: what none of them took."""
    admins = admin_users(app.bot_data.settings)
    app.add_handler(CommandHandler(ADMIN_COMMANDS, refuse, filters=~admins))
    elsewhere = admins & ~filters.ChatType.PRIVATE
    app.add_handler(CommandHandler(ADMIN_COMMANDS, wrong_chat, filters=elsewhere))
