"""/facilities: a page of buttons, each opening a facility's card."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import rendering
from bot.context import App, Context, pressed
from bot.paging import page_of
from bot.reader.wording import Wording
from bot.telegram.callbacks import FacilitiesPage, FacilityCard
from bot.telegram.deeplinks import deep_link
from bot.telegram.keyboards import button, keyboard, pager
from bot.telegram.replies import replace, reply
from bot.texts import Html, Texts

PAGE_SIZE = 5
# Long names are shortened on buttons only; the card shows them whole.


def _list_page(
    context: Context, t: Texts, number: int
) -> tuple[Html, InlineKeyboardMarkup | None]:
    known = context.bot_data.knowledge
    page = page_of(known.facilities, number=number, size=PAGE_SIZE)
    if not page.items:
        return t("facilities.empty"), None
    w = Wording(t, known)
    rows = [
        [button(w.text(item, "name"), FacilityCard(item.id, page.number))] for item in page.items
    ]
    rows.append(pager(t, number=page.number, count=page.count, to=FacilitiesPage))
    paging = rendering.paging(t, number=page.number, count=page.count)
    text = t("facilities.page", paging=paging, total=page.total)
    return text, keyboard(rows)


async def show_facilities(update: Update, context: Context) -> None:
    """The first page of facilities."""
    text, markup = _list_page(context, context.texts, 0)
    await reply(update, text, markup)


async def turn_facilities_page(update: Update, context: Context) -> None:
    query, data = pressed(update)
    await query.answer()
    text, markup = _list_page(context, context.texts, FacilitiesPage.parse(data).number)
    await replace(query, text, markup)


async def open_facility(update: Update, context: Context) -> None:
    """A facility's card, with a button back to the page it was opened from."""
    query, data = pressed(update)
    t = context.texts
    wanted = FacilityCard.parse(data)
    known = context.bot_data.knowledge
    item = known.facility(wanted.facility_id)
    if item is None:
        await query.answer(t("facilities.gone"), show_alert=True)
        text, markup = _list_page(context, t, wanted.number)
        await replace(query, text, markup)
        return
    await query.answer()
    w = Wording(t, known)
    shown = rendering.facility_card(w, item)
    footer = rendering.source_line(t, known.sources_of([item]), language=t.language)
    text = t("facility.page", card=shown, sources=w.footer(footer))
    back = keyboard([[button(t("button.back_to_list"), FacilitiesPage(wanted.number))]])
    await replace(query, text, back)


def register(app: App) -> None:
    app.add_handlers(
        [
            CommandHandler("facilities", show_facilities),
            deep_link("facilities", show_facilities),
            CallbackQueryHandler(turn_facilities_page, pattern=FacilitiesPage.pattern()),
            CallbackQueryHandler(open_facility, pattern=FacilityCard.pattern()),
        ]
    )
