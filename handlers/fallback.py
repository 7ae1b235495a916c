"""Answers for what no other handler took: unknown commands and outdated buttons."""

from __future__ import annotations

import difflib

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import App, Context, pressed
from bot.telegram.menus import PUBLIC_COMMANDS
from bot.telegram.replies import reply


async def explain_unknown_command(update: Update, context: Context) -> None:
    """Name the command we do not know and suggest the closest other one we do.

    A command addressed to another bot (``/cmd@otherbot``) is that bot's business: in a group
    every bot sees it, and there an unknown command sent without a name is most likely
    another bot's too, so only one addressed to this bot is answered. The command typed is
    never its own suggestion: a known one that reached this far was refused by its handler's
    filter, and "did you mean" it would be nonsense.
    """
    message = update.effective_message
    if message is None or message.text is None:
        return
    name, _, addressee = message.text.split()[0].lstrip("/").partition("@")
    if addressee and addressee.lower() != context.bot.username.lower():
        return
    if not addressee and message.chat.type != ChatType.PRIVATE:
        return
    t = context.texts
    typed = name.lower()
    others = [command for command in PUBLIC_COMMANDS if command != typed]
    close = difflib.get_close_matches(typed, others, n=1, cutoff=0.6)
    if close:
        await reply(update, t("fallback.command_suggest", command=name, suggestion=close[0]))
    else:
        await reply(update, t("fallback.command", command=name))


async def nothing_to_cancel(update: Update, context: Context) -> None:
    """/cancel that no conversation took: there was nothing under way."""
    await reply(update, context.texts("fallback.nothing_to_cancel"))


async def explain_outdated_button(update: Update, context: Context) -> None:
    query, _ = pressed(update)
    await query.answer(context.texts("fallback.button"), show_alert=True)


def register(app: App) -> None:
    app.add_handlers(
        [
            # After every conversation, each of which takes /cancel while it is under way.
            CommandHandler("cancel", nothing_to_cancel),
            # Never in a channel: nobody there asked the bot anything.
            MessageHandler(filters.COMMAND & ~filters.ChatType.CHANNEL, explain_unknown_command),
            CallbackQueryHandler(explain_outdated_button),
        ]
    )
