"""/events (upcoming first, then past) and /next (a countdown to the next one)."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import rendering
from bot.context import App, Context, pressed
from bot.paging import page_of
from bot.telegram.callbacks import EventsPage
from bot.telegram.deeplinks import deep_link
from bot.telegram.keyboards import button, keyboard, pager
from bot.telegram.replies import replace, reply
from bot.texts import Html, Texts, join
from bot.wording import Wording

PAGE_SIZE = 5
UPCOMING, PAST = "up", "past"

View = tuple[Html, InlineKeyboardMarkup | None]


def _events_view(context: Context, t: Texts, which: str, number: int) -> View:
    known, now = context.bot_data.knowledge, context.bot_data.clock.now()
    found = known.past(now) if which == PAST else known.upcoming(now)
    page = page_of(found, number=number, size=PAGE_SIZE)
    cite = rendering.Citations(known.sources_of(page.items))
    w = Wording(t, known)
    lines = [
        cite.after(rendering.event_line(w, event, language=t.language), event)
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
    rows = [
        pager(t, number=page.number, count=page.count, to=lambda n: EventsPage(which, n)),
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
    t = context.texts
    known, now = context.bot_data.knowledge, context.bot_data.clock.now()
    ahead = known.upcoming(now)
    latest = None if ahead else next(iter(known.past(now)), None)
    shown = ahead[:1] or ([latest] if latest else [])
    w = Wording(t, known)
    lines = [rendering.event_line(w, event, language=t.language) for event in shown]
    footer = w.footer(rendering.source_line(t, known.sources_of(shown), language=t.language))
    if ahead:
        event, line = ahead[0], lines[0]
        if event.starts_at <= now:
            text = t("next.now", event=line, sources=footer)
        else:
            # A month-precision event has no day: count down to the month, and say so.
            precision = "day" if event.precision == "month" else event.precision
            left = rendering.countdown(
                event.starts_at - now, precision=precision, language=t.language
            )
            if event.precision == "month":
                text = t("next.upcoming_month", event=line, countdown=left, sources=footer)
            else:
                text = t("next.upcoming", event=line, countdown=left, sources=footer)
    elif latest is not None:
        text = t("next.nothing_latest", event=lines[0], sources=footer)
    else:
        text = t("next.nothing")
    await reply(update, text)


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
