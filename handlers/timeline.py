"""/timeline and /agreements: the cooperation year by year, and what was signed.

The timeline is every event and agreement on record, a year to a page, the latest year first;
each line opens its card. ``/timeline 2016`` opens a year. Dates are as precise as their sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import rendering
from bot.context import App, Context, pressed
from bot.reader import dates
from bot.reader.wording import Wording
from bot.telegram.callbacks import TimelineEntry, TimelinePage
from bot.telegram.deeplinks import deep_link
from bot.telegram.keyboards import button, calendar_row, keyboard, pager
from bot.telegram.replies import replace, reply
from bot.texts import Html, Texts, join
from storage.knowledge import Knowledge
from storage.models import Agreement, Event

EVENT, AGREEMENT = "e", "a"


@dataclass(frozen=True)
class Entry:
    """A line of the timeline: what happened, on which day (as its first day), how precisely."""

    kind: str
    item: Event | Agreement
    day: date
    precision: str


def entries(known: Knowledge) -> list[Entry]:
    """Every event and agreement, latest first. An event that is the signing of an agreement
    (told by the same page, on the same day) is one line: the agreement's."""
    found = [
        Entry(
            EVENT, event, event.starts_at.astimezone(ZoneInfo(event.zone)).date(), event.precision
        )
        for event in known.events
    ]
    signed = [
        Entry(AGREEMENT, item, item.signed, item.signed_precision) for item in known.agreements
    ]
    told = {(entry.item.source_id, entry.day) for entry in signed}
    found = [entry for entry in found if (entry.item.source_id, entry.day) not in told]
    found += signed
    return sorted(found, key=lambda entry: (entry.day, entry.kind), reverse=True)


def years(found: Sequence[Entry]) -> list[int]:
    """The years with something on record, latest first."""
    return sorted({entry.day.year for entry in found}, reverse=True)


def _year_page(
    t: Texts, known: Knowledge, number: int
) -> tuple[Html, InlineKeyboardMarkup | None]:
    found = entries(known)
    on_record = years(found)
    if not on_record:
        return t("timeline.empty"), None
    number = min(max(number, 0), len(on_record) - 1)
    year = on_record[number]
    shown = [entry for entry in found if entry.day.year == year]
    w = Wording(t, known)
    lines = [_line(w, entry) for entry in shown]
    rows = [
        [button(w.text(entry.item, "title"), TimelineEntry(entry.kind, entry.item.id, number))]
        for entry in shown
    ]
    rows.append(pager(t, number=number, count=len(on_record), to=TimelinePage))
    text = t(
        "timeline.page",
        year=year,
        paging=rendering.paging(t, number=number, count=len(on_record)),
        lines=join(lines),
        years=", ".join(str(each) for each in on_record),
    )
    return w.below(text), keyboard(rows)


def _line(w: Wording, entry: Entry) -> Html:
    when = dates.day_of(entry.day, precision=_day_precision(entry), language=w.language)
    if entry.kind == AGREEMENT:
        return w.t("timeline.agreement", when=when, title=w(entry.item, "title"))
    return w.t("timeline.event", when=when, title=w(entry.item, "title"))


def _day_precision(entry: Entry) -> str:
    """An event known to the minute is dated by its day here."""
    return "day" if entry.precision == "minute" else entry.precision


async def show_timeline(update: Update, context: Context) -> None:
    """The latest year, or the year asked for: ``/timeline 2016``."""
    t, known = context.texts, context.bot_data.knowledge
    asked = context.command_text
    on_record = years(entries(known))
    number = 0
    if asked:
        if not asked.isdecimal() or int(asked) not in on_record:
            listed = ", ".join(str(year) for year in on_record)
            await reply(update, t("timeline.no_year", year=asked, years=listed))
            return
        number = on_record.index(int(asked))
    await reply(update, *_year_page(t, known, number))


async def turn_timeline_page(update: Update, context: Context) -> None:
    query, data = pressed(update)
    await query.answer()
    number = TimelinePage.parse(data).number
    await replace(query, *_year_page(context.texts, context.bot_data.knowledge, number))


async def open_entry(update: Update, context: Context) -> None:
    """An event's or agreement's card, with a way back to its year."""
    query, data = pressed(update)
    t, known = context.texts, context.bot_data.knowledge
    wanted = TimelineEntry.parse(data)
    item: Event | Agreement | None = (
        known.agreement(wanted.item_id)
        if wanted.kind == AGREEMENT
        else known.event(wanted.item_id)
    )
    if item is None:
        await query.answer(t("timeline.gone"), show_alert=True)
        await replace(query, *_year_page(t, known, wanted.number))
        return
    await query.answer()
    w = Wording(t, known)
    shown = (
        rendering.agreement(w, item)
        if isinstance(item, Agreement)
        else rendering.event_line(w, item, language=t.language, reader=context.zone.key)
    )
    sources = rendering.source_line(t, known.sources_of([item]), language=t.language)
    adds = calendar_row(t, item) if isinstance(item, Event) else []
    back = [button(t("timeline.back"), TimelinePage(wanted.number))]
    await replace(query, join([shown, w.footer(sources)], "\n\n"), keyboard([adds, back]))


async def show_agreements(update: Update, context: Context) -> None:
    """Every agreement, the latest first, each with its source."""
    t, known = context.texts, context.bot_data.knowledge
    signed = list(reversed(known.agreements))
    if not signed:
        await reply(update, t("agreements.empty"))
        return
    cite = rendering.Citations(known.sources_of(signed))
    w = Wording(t, known)
    listed = join([cite.after(rendering.agreement(w, item), item) for item in signed], "\n\n")
    await reply(update, t("agreements.body", agreements=listed, sources=w.footer(cite.footer(t))))


def register(app: App) -> None:
    app.add_handlers(
        [
            CommandHandler("timeline", show_timeline),
            CommandHandler("agreements", show_agreements),
            deep_link("timeline", show_timeline),
            deep_link("agreements", show_agreements),
            CallbackQueryHandler(turn_timeline_page, pattern=TimelinePage.pattern()),
            CallbackQueryHandler(open_entry, pattern=TimelineEntry.pattern()),
        ]
    )
