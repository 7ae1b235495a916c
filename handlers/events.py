"""/events (upcoming first, then past) and /next (a countdown to the next one)."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import rendering
from bot.callbacks import EventsPage
from bot.context import App, Context, pressed, texts
from bot.deeplinks import deep_link
from bot.keyboards import button, keyboard, pager
from bot.replies import replace, reply
from bot.texts import Html, Texts, join
from storage import events, sources
from storage.models import Event

PAGE_SIZE = 5
UPCOMING, PAST = "up", "past"

View = tuple[Html, InlineKeyboardMarkup | None]


async def _events_view(context: Context, t: Texts, which: str, number: int) -> View:
    now = context.bot_data.clock.now()
    async with context.bot_data.sessions() as session:
        found: Sequence[Event]
        if which == PAST:
            found = await events.past(session, now=now)
        else:
            found = await events.upcoming(session, now=now)
        pages = max(1, -(-len(found) // PAGE_SIZE))
        number = min(max(number, 0), pages - 1)
        shown = found[number * PAGE_SIZE : (number + 1) * PAGE_SIZE]
        known = await sources.by_id(session, (event.source_id for event in shown))
    lines = join([rendering.event_line(t, event, language=t.language) for event in shown], "\n\n")
    footer = rendering.source_line(t, rendering.sources_of(shown, known), language=t.language)
    paging = rendering.paging(t, number=number, count=pages)
    if which == PAST:
        text = t("events.past", events=lines, paging=paging, sources=footer)
        if not shown:
            text = t("events.past_empty")
        switch = button(t("button.upcoming"), EventsPage(UPCOMING, 0))
    else:
        text = t("events.upcoming", events=lines, paging=paging, sources=footer)
        if not shown:
            text = t("events.upcoming_empty")
        switch = button(t("button.past"), EventsPage(PAST, 0))
    rows = [
        pager(
            EventsPage(which, number - 1) if number > 0 else None,
            EventsPage(which, number + 1) if number + 1 < pages else None,
            back=t("button.previous"),
            more=t("button.next"),
        ),
        [switch],
    ]
    return text, keyboard(rows)


async def show_events(update: Update, context: Context) -> None:
    """Upcoming events first; past ones are a button away."""
    text, markup = await _events_view(context, texts(update), UPCOMING, 0)
    await reply(update, text, markup)


async def turn_events_page(update: Update, context: Context) -> None:
    query, data = pressed(update)
    await query.answer()
    wanted = EventsPage.parse(data)
    which = PAST if wanted.which == PAST else UPCOMING
    text, markup = await _events_view(context, texts(update), which, wanted.number)
    await replace(query, text, markup)


async def show_next(update: Update, context: Context) -> None:
    """The next event and how long until it, or the latest one if nothing is scheduled."""
    t = texts(update)
    now = context.bot_data.clock.now()
    async with context.bot_data.sessions() as session:
        ahead = await events.upcoming(session, now=now)
        latest = None if ahead else await events.latest_past(session, now=now)
        shown = ahead[:1] or ([latest] if latest else [])
        known = await sources.by_id(session, (event.source_id for event in shown))
    footer = rendering.source_line(t, rendering.sources_of(shown, known), language=t.language)
    if ahead:
        event = ahead[0]
        line = rendering.event_line(t, event, language=t.language)
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
        line = rendering.event_line(t, latest, language=t.language)
        text = t("next.nothing_latest", event=line, sources=footer)
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
