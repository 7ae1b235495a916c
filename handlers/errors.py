"""One place where unexpected errors are logged and the user is told, briefly, unless they
already have an answer."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError, TimedOut

from bot.context import App, Context, texts
from bot.courier import shown_in_this_update
from bot.replies import reply
from bot.transport import Unsent

log = logging.getLogger(__name__)


def may_have_been_shown(error: BaseException | None) -> bool:
    """A request that timed out waiting for its answer may have been done all the same: a
    message may have gone out, late."""
    return isinstance(error, TimedOut) and not isinstance(error, Unsent)


async def report_error(update: object, context: Context) -> None:
    log.error("update %s failed", getattr(update, "update_id", "?"), exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if shown_in_this_update() or may_have_been_shown(context.error):
        # "Something went wrong" after (or instead of) an answer that went out would be wrong,
        # and a second copy of the answer worse.
        return
    try:
        await reply(update, texts(update)("error.generic"))
    except TelegramError:
        log.warning("could not tell the user about the error", exc_info=True)


def register(app: App) -> None:
    app.add_error_handler(report_error)
