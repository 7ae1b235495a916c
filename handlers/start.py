"""/start and /help: the welcome, and what the bot can do."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import App, Context
from bot.telegram.replies import reply


async def start(update: Update, context: Context) -> None:
    """Welcome; a deep link whose payload no section claimed lands here too."""
    t = context.texts
    user = update.effective_user
    # A chat that had blocked the bot and sends /start is back: bot.telegram.sightings notes it.
    name = user.first_name if user else ""
    await reply(update, t("start.welcome", name=name))


async def show_help(update: Update, context: Context) -> None:
    await reply(update, context.texts("help.body"))


def register(app: App) -> None:
    app.add_handlers([CommandHandler("start", start), CommandHandler("help", show_help)])
