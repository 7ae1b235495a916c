"""Sending and editing HTML messages the way every handler should."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.html_split import split_html
from bot.texts import Html

log = logging.getLogger(__name__)


async def reply(
    update: Update, text: Html, keyboard: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Answer in the update's chat; long text goes out in several messages, buttons on the last."""
    chat = update.effective_chat
    if chat is None:
        return None
    chunks = split_html(text)
    sent = None
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        sent = await chat.send_message(chunk, reply_markup=keyboard if last else None)
    return sent


async def replace(
    query: CallbackQuery, text: Html, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """Show another page in the message whose button was pressed."""
    try:
        await query.edit_message_text(text, reply_markup=keyboard)
    except BadRequest as error:
        # A double tap asks for the page already shown; Telegram says so; nothing to do.
        if "not modified" not in error.message:
            raise
        log.debug("page already shown: %s", error.message)
