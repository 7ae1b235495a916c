"""One place where unexpected errors are logged and the user is told, briefly."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.context import App, Context, texts
from bot.replies import reply

log = logging.getLogger(__name__)


async def report_error(update: object, context: Context) -> None:
    log.error("update %s failed", getattr(update, "update_id", "?"), exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        await reply(update, texts(update)("error.generic"))
    except TelegramError:
        log.warning("could not tell the user about the error", exc_info=True)


def register(app: App) -> None:
    app.add_error_handler(report_error)
