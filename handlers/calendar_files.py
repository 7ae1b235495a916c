"""/calendar and "📅 Add to calendar": events as .ics files for the reader's own calendar."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.calendars.files import calendar_file, in_calendar
from bot.context import App, Context, pressed
from bot.reader import dates
from bot.telegram.callbacks import CalendarFile
from bot.telegram.replies import reply, send_file
from bot.texts import Html, Texts, join, shorten
from storage import events
from storage.models import Event

# A caption names at most this many events left out, each cut to this length: with the rest,
# well within Telegram's 1,024 characters for a caption, however many there are.
LEFT_OUT_NAMED, TITLE_LENGTH = 5, 60
# An alert holds at most 200 characters.
ALERT_TITLE_LENGTH = 80


async def send_upcoming(update: Update, context: Context) -> None:
    """Every upcoming event in one file, those cancelled meanwhile marked so (for a calendar
    that has them from an earlier file); those known only to the month are named, not put in."""
    t, known, now = context.texts, context.bot_data.knowledge, context.now
    async with context.bot_data.sessions() as session:
        cancelled = await events.cancelled_ahead(session, now)
    scheduled = known.upcoming(now)
    dated = [event for event in scheduled if in_calendar(event)]
    crossed = [event for event in cancelled if in_calendar(event)]
    month_only = [event for event in scheduled if not in_calendar(event)]
    notes = [_left_out(t, month_only)] if month_only else []
    if not dated and not crossed:
        lead = t("calendar.none_dated") if month_only else t("calendar.nothing")
        await reply(update, join([lead, *notes], "\n\n"))
        return
    lines = [t("calendar.upcoming", count=len(dated))]
    if crossed:
        lines.append(t("calendar.cancelled_in_file", count=len(crossed)))
    both = sorted([*dated, *crossed], key=lambda event: (event.starts_at, event.id))
    content = calendar_file(t, known, both, now=now)
    name = f"upcoming-events-{context.today:%Y-%m-%d}.ics"
    await send_file(update, name, content, join([*lines, *notes], "\n\n"))


def _left_out(t: Texts, month_only: Sequence[Event]) -> Html:
    named = [
        t("calendar.left_out_title", title=shorten(event.title, TITLE_LENGTH))
        for event in month_only[:LEFT_OUT_NAMED]
    ]
    more = [Html("…")] if len(month_only) > LEFT_OUT_NAMED else []
    return t("calendar.left_out", count=len(month_only), titles=join([*named, *more], "; "))


async def send_event_file(update: Update, context: Context) -> None:
    """One event's file, for "📅 Add to calendar" on its card (or every upcoming event's, for
    the button on /events). A cancelled event's file says it is cancelled, so that a calendar
    holding it from before marks it; an event gone from the record gets an alert."""
    query, data = pressed(update)
    t, known = context.texts, context.bot_data.knowledge
    wanted = CalendarFile.parse(data)
    if wanted.event_id == CalendarFile.UPCOMING:
        await query.answer()
        await send_upcoming(update, context)
        return
    event = known.event(wanted.event_id)
    if event is None:
        async with context.bot_data.sessions() as session:
            event = await events.find(session, wanted.event_id)
    if event is None:
        await query.answer(t("calendar.gone"), show_alert=True)
        return
    if not in_calendar(event):
        title = shorten(event.title, ALERT_TITLE_LENGTH)
        await query.answer(t("calendar.month_only", title=title), show_alert=True)
        return
    await query.answer()
    when = dates.when(event, language=t.language, reader=context.zone.key)
    if event.status == "cancelled":
        caption = t("calendar.event_cancelled", title=event.title, when=when)
    else:
        caption = t("calendar.event", title=event.title, when=when)
    content = calendar_file(t, known, [event], now=context.now)
    await send_file(update, f"{event.id}.ics", content, caption)


def register(app: App) -> None:
    app.add_handlers(
        [
            CommandHandler("calendar", send_upcoming),
            CallbackQueryHandler(send_event_file, pattern=CalendarFile.pattern()),
        ]
    )
