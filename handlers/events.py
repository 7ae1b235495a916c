"""/events (upcoming first, then past) and /next (a countdown to the next one)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import rendering
from bot.context import App, Context, pressed
from bot.paging import page_of
from bot.reader import dates
from bot.reader.wording import Wording
from bot.telegram.callbacks import CalendarFile, EventsPage
from bot.telegram.deeplinks import deep_link
from bot.telegram.keyboards import button, calendar_row, keyboard, pager
from bot.telegram.replies import replace, reply
from bot.texts import Html, Texts, join
from storage.models import Event

PAGE_SIZE = 5
UPCOMING, PAST = "up", "past"

View = tuple[Html, InlineKeyboardMarkup | None]


def _events_view(context: Context, t: Texts, which: str, number: int) -> View:
    known, now, zone = context.bot_data.knowledge, context.now, context.zone.key
    found = known.past(now) if which == PAST else known.upcoming(now)
    page = page_of(found, number=number, size=PAGE_SIZE)
    cite = rendering.Citations(known.sources_of(page.items))
    w = Wording(t, known)
    lines = [
        cite.after(rendering.event_line(w, event, language=t.language, reader=zone), event)
        for event in page.items
    ]
    values = {
        "events": join(lines, "\n\n"),
        "paging": rendering.paging(t, number=page.number, count=page.count),
        "sources": w.footer(cite.footer(t)),
    }
    if which == PAST:
        text = t("events.past", **values) if found else t("events.past_empty")
        switch = button(t("button.upcoming"), EventsPage(UPCOMING, 0))
    else:
        text = t("events.upcoming", **values) if found else t("events.upcoming_empty")
        switch = button(t("button.past"), EventsPage(PAST, 0))
    # What /calendar sends, for the events this page is about.
    upcoming = CalendarFile(CalendarFile.UPCOMING)
    rows = [
        pager(t, number=page.number, count=page.count, to=lambda n: EventsPage(which, n)),
        [button(t("button.calendar_upcoming"), upcoming)] if found and which != PAST else [],
        [switch],
    ]
    return text, keyboard(rows)


async def show_events(update: Update, context: Context) -> None:
    """Upcoming events first; past ones are a button away."""
    await reply(update, *_events_view(context, context.texts, UPCOMING, 0))


async def turn_events_page(update: Update, context: Context) -> None:
    query, data = pressed(update)
    await query.answer()
    wanted = EventsPage.parse(data)
    which = PAST if wanted.which == PAST else UPCOMING
    await replace(query, *_events_view(context, context.texts, which, wanted.number))


async def show_next(update: Update, context: Context) -> None:
    """The next event and how long until it, or the latest one if nothing is scheduled."""
    t, zone = context.texts, context.zone.key
    known, now = context.bot_data.knowledge, context.now
    ahead = known.upcoming(now)
    latest = None if ahead else next(iter(known.past(now)), None)
    shown = ahead[:1] or ([latest] if latest else [])
    buttons = keyboard([calendar_row(t, event) for event in shown])
    w = Wording(t, known)
    lines = [rendering.event_line(w, event, language=t.language, reader=zone) for event in shown]
    footer = w.footer(rendering.source_line(t, known.sources_of(shown), language=t.language))
    if ahead:
        text = _countdown(t, ahead[0], lines[0], footer, context)
    elif latest is not None:
        text = t("next.nothing_latest", event=lines[0], sources=footer)
    else:
        text = t("next.nothing")
    await reply(update, text, buttons)


def _countdown(t: Texts, event: Event, line: Html, footer: Html, context: Context) -> Html:
    """How long until the event: to the minute if its time is known; else in days of the
    reader's calendar ("today", "tomorrow"), and for a month, until the month begins."""
    now = context.now
    if event.starts_at <= now:
        return t("next.now", event=line, sources=footer)
    if event.precision == "minute":
        left = dates.countdown(event.starts_at - now, precision="minute", language=t.language)
        return t("next.upcoming", event=line, countdown=left, sources=footer)
    days = (event.starts_at.astimezone(ZoneInfo(event.zone)).date() - context.today).days
    if event.precision == "month":
        left = dates.countdown(timedelta(days=max(1, days)), precision="day", language=t.language)
        return t("next.upcoming_month", event=line, countdown=left, sources=footer)
    if days <= 0:
        return t("next.today", event=line, sources=footer)
    if days == 1:
        return t("next.tomorrow", event=line, sources=footer)
    left = dates.countdown(timedelta(days=days), precision="day", language=t.language)
    return t("next.upcoming", event=line, countdown=left, sources=footer)


def register(app: App) -> None:
    app.add_handlers(
        [
            CommandHandler("events", show_events),
            CommandHandler("next", show_next),
            deep_link("events", show_events),
            deep_link("next", show_next),
            CallbackQueryHandler(turn_events_page, pattern=EventsPage.pattern()),
        ]
    )
