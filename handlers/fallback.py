"""Answers for what no other handler took: unknown commands and outdated buttons."""

from __future__ import annotations

import difflib

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.commands import PUBLIC_COMMANDS
from bot.context import App, Context, texts
from bot.replies import reply


async def explain_unknown_command(update: Update, context: Context) -> None:
    """Name the command we do not know and suggest the closest one we do."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    t = texts(update)
    typed = message.text.split()[0].split("@")[0].lstrip("/")
    close = difflib.get_close_matches(typed.lower(), PUBLIC_COMMANDS, n=1, cutoff=0.6)
    if close:
        await reply(update, t("fallback.command_suggest", command=typed, suggestion=close[0]))
    else:
        await reply(update, t("fallback.command", command=typed))


async def nothing_to_cancel(update: Update, context: Context) -> None:
    """/cancel that no conversation took: there was nothing under way."""
    await reply(update, texts(update)("fallback.nothing_to_cancel"))


async def explain_outdated_button(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None  # guaranteed by the handler
    await query.answer(texts(update)("fallback.button"), show_alert=True)


def register(app: App) -> None:
    app.add_handlers(
        [
            # After every conversation, each of which takes /cancel while it is under way.
            CommandHandler("cancel", nothing_to_cancel),
            MessageHandler(filters.COMMAND, explain_unknown_command),
            CallbackQueryHandler(explain_outdated_button),
        ]
    )
