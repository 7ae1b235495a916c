"""/start and /help: the welcome, and what the bot can do."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import App, Context
from bot.telegram.replies import reply
from bot.texts import join, texts_for


async def start(update: Update, context: Context) -> None:
    """Welcome; a deep link whose payload no section claimed lands here too."""
    t = context.texts
    user = update.effective_user
    # A chat that had blocked the bot and sends /start is back: bot.telegram.sightings notes it.
    name = user.first_name if user else ""
    welcome = t("start.welcome", name=name)
    # Telegram set to a language the bot does not speak: it answers in English, and says how
    # to choose.
    code = (user.language_code or "") if user else ""
    if code and not code.lower().startswith(texts_for(code).language):
        welcome = join([welcome, t("language.offer")], "\n\n")
    await reply(update, welcome)


async def show_help(update: Update, context: Context) -> None:
    await reply(update, context.texts("help.body"))


def register(app: App) -> None:
    app.add_handlers([CommandHandler("start", start), CommandHandler("help", show_help)])
