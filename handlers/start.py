"""/start and /help: the welcome, and what the bot can do."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import App, Context, texts
from bot.replies import reply
from storage import chats


async def start(update: Update, context: Context) -> None:
    """Welcome; a deep link whose payload no section claimed lands here too."""
    t = texts(update)
    user, chat = update.effective_user, update.effective_chat
    if chat is not None:
        # Someone who blocked the bot and comes back starts it again: digests resume.
        async with context.bot_data.sessions.begin() as session:
            await chats.reactivate(session, chat_id=chat.id)
    name = user.first_name if user else ""
    await reply(update, t("start.welcome", name=name))


async def show_help(update: Update, context: Context) -> None:
    await reply(update, texts(update)("help.body"))


def register(app: App) -> None:
    app.add_handlers([CommandHandler("start", start), CommandHandler("help", show_help)])
