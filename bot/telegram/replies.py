"""Sending and editing HTML messages the way every handler should."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Chat, InlineKeyboardMarkup, InputFile, Message, Update
from telegram.error import BadRequest

from bot.telegram.splitting import split_html
from bot.texts import Html

log = logging.getLogger(__name__)


def topic_of(update: Update) -> int | None:
    """The forum topic the update came from (a message in it, a press on a message in it), for
    the answer to go there too; None in a chat without topics, or in a forum's General topic."""
    message = update.effective_message
    if message is None or not message.is_topic_message:
        return None
    return message.message_thread_id


async def reply(
    update: Update, text: Html, keyboard: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Answer in the update's chat, in its forum topic if it has one; long text goes out in
    several messages, buttons on the last."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await _send(chat, split_html(text), keyboard, topic=topic_of(update))


async def send_file(update: Update, name: str, content: bytes, caption: Html) -> Message | None:
    """A file in the update's chat (its forum topic too), captioned; the caption must fit
    Telegram's 1,024 characters, which a caption is not split to."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await chat.send_document(
        InputFile(content, filename=name), caption=caption, message_thread_id=topic_of(update)
    )


# How Telegram says that a message can no longer be edited: deleted, too old (48 hours), or not
# one it lets the bot edit. The press still deserves its page.
_UNEDITABLE = ("message to edit not found", "message can't be edited", "message_id_invalid")


async def replace(
    query: CallbackQuery, text: Html, keyboard: InlineKeyboardMarkup | None = None
) -> None:
    """Show another page in the message whose button was pressed; in a new message if that one
    can no longer be edited. Text over Telegram's limit goes on in further messages below it,
    the buttons on the last."""
    chunks = split_html(text) or [text]
    pressed = query.message
    if pressed is not None and not isinstance(pressed, Message):
        # Telegram no longer shows the bot that message (deleted, or too old): nothing to edit.
        await _send(pressed.chat, chunks, keyboard, topic=None)
        return
    topic = pressed.message_thread_id if pressed and pressed.is_topic_message else None
    try:
        await query.edit_message_text(chunks[0], reply_markup=None if chunks[1:] else keyboard)
    except BadRequest as error:
        # A double tap asks for the page already shown; Telegram says so; nothing to do.
        if _not_modified(error):
            log.debug("page already shown: %s", error.message)
            return
        if pressed is None or not _uneditable(error):
            raise
        log.debug("the pressed message cannot be edited (%s): sent anew", error.message)
        await _send(pressed.chat, chunks, keyboard, topic=topic)
        return
    if pressed is not None:
        await _send(pressed.chat, chunks[1:], keyboard, topic=topic)


async def _send(
    chat: Chat, chunks: list[str], keyboard: InlineKeyboardMarkup | None, *, topic: int | None
) -> Message | None:
    """Chunks of one text as messages in a row, the buttons on the last; the last one sent."""
    sent = None
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        sent = await chat.send_message(
            chunk, reply_markup=keyboard if last else None, message_thread_id=topic
        )
    return sent


async def drop_buttons(query: CallbackQuery) -> None:
    """Take the buttons off the pressed message, so that a second tap cannot act twice; a
    message that can no longer be edited has no buttons anyone can use either."""
    if query.message is not None and not isinstance(query.message, Message):
        return
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest as error:
        if not (_not_modified(error) or _uneditable(error)):
            raise
        log.debug("buttons not dropped: %s", error.message)


def _not_modified(error: BadRequest) -> bool:
    return "not modified" in error.message.lower()


def _uneditable(error: BadRequest) -> bool:
    reason = error.message.lower()
    return any(phrase in reason for phrase in _UNEDITABLE)
