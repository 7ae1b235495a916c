"""What admins get beside their commands: the admin /help and the admin command menu.

Each admin feature registers its own commands, buttons and documents behind the gate
(``bot.curation.admins.admin_only``), which also refuses everyone else; an admin's /help and
/start are variants of public commands, so everyone else gets the public ones.
"""

from __future__ import annotations

import logging

from telegram import BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import CommandHandler

from bot.context import App, Context
from bot.curation.admins import ADMIN_COMMANDS, admin_menu, admin_only
from bot.curation.moments import examples
from bot.telegram.menus import menu
from bot.telegram.replies import reply
from bot.texts import join, texts_for

log = logging.getLogger(__name__)


async def admin_help(update: Update, context: Context) -> None:
    """The public help, then every admin command with its one-line form."""
    t, data = context.texts, context.bot_data
    ahead = examples(data.clock.now(), data.settings.zone)
    lines = join([t(f"admin_help.{name}", **ahead) for name in ADMIN_COMMANDS], "\n\n")
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
    t = texts_for(None)
    try:
        await context.bot.set_my_commands(
            [*menu(t), *admin_menu(t)], scope=BotCommandScopeChat(context.user_id)
        )
    except TelegramError as error:
        log.warning("could not set the admin menu for %s: %s", context.user_id, error)


def register_before_public(app: App) -> None:
    """Handlers that must see /help and /start before the public ones do, for admins only."""
    admin_only(app, [CommandHandler("help", admin_help)], refuse_others=False)
    # Group 1: runs beside the public /start, which still answers with the welcome.
    admin_only(app, [CommandHandler("start", admin_start)], group=1, refuse_others=False)
