"""One place where unexpected errors are logged, the user is told, briefly, unless they
already have an answer, and the admins get what failed: the update, the error, its traceback."""

from __future__ import annotations

import logging
import traceback
from datetime import timedelta

from telegram import Update
from telegram.error import TelegramError, TimedOut

from bot.context import App, Context, texts
from bot.logs import masker
from bot.telegram.courier import shown_in_this_update
from bot.telegram.replies import reply
from bot.telegram.transport import Unsent
from bot.texts import Html, texts_for

log = logging.getLogger(__name__)

# At most one report to the admins in this long; the errors in between are counted in the next.
REPORT_EVERY = timedelta(minutes=1)
# The end of the traceback, where the error is, fits a message with room for the rest.
TRACEBACK_CHARS = 3000


def may_have_been_shown(error: BaseException | None) -> bool:
    """A request that timed out waiting for its answer may have been done all the same: a
    message may have gone out, late."""
    return isinstance(error, TimedOut) and not isinstance(error, Unsent)


async def report_error(update: object, context: Context) -> None:
    log.error("update %s failed", getattr(update, "update_id", "?"), exc_info=context.error)
    await _tell_user(update, context.error)
    await _tell_admins(update, context)


async def _tell_user(update: object, error: BaseException | None) -> None:
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if shown_in_this_update() or may_have_been_shown(error):
        # "Something went wrong" after (or instead of) an answer that went out would be wrong,
        # and a second copy of the answer worse.
        return
    try:
        await reply(update, texts(update)("error.generic"))
    except TelegramError:
        log.warning("could not tell the user about the error", exc_info=True)


async def _tell_admins(update: object, context: Context) -> None:
    """Each admin's private chat gets the report, at most once a minute."""
    data = context.bot_data
    now = data.clock.now()
    if data.errors_reported_at is not None and now - data.errors_reported_at < REPORT_EVERY:
        data.errors_unreported += 1
        return
    text = _report(update, context, since=data.errors_unreported)
    data.errors_reported_at, data.errors_unreported = now, 0
    for admin_id in sorted(data.settings.admin_ids):
        try:
            await context.bot.send_message(admin_id, text)
        except TelegramError as error:
            # An admin who never started the bot cannot be written to; the log has it all.
            log.warning("could not report the error to admin %s: %s", admin_id, error)


def _report(update: object, context: Context, *, since: int) -> Html:
    """What failed, for an admin: the update, the error and the end of its traceback; the
    token masked wherever it shows (a URL in an error, a local in a frame)."""
    t = texts_for(None)
    mask = masker(context.bot.token)
    error = context.error
    lines = traceback.format_exception(error) if error else ["no exception"]
    trace = mask("".join(lines))[-TRACEBACK_CHARS:]
    return t(
        "error.report",
        update=mask(_described(update)),
        error=mask(f"{type(error).__name__}: {error}") if error else "",
        trace=trace,
        more=t("error.report_more", count=since) if since else Html(""),
    )


def _described(update: object) -> str:
    """The update in a line: its id, the chat and user, and what they sent or pressed."""
    if not isinstance(update, Update):
        return repr(update)[:200]
    chat, user = update.effective_chat, update.effective_user
    message, query = update.effective_message, update.callback_query
    what = (query.data if query else None) or (message.text or message.caption if message else "")
    return (
        f"update {update.update_id}, chat {chat.id if chat else '-'}, "
        f"user {user.id if user else '-'}: {(what or '')[:200]!r}"
    )


def register(app: App) -> None:
    app.add_error_handler(report_error)
