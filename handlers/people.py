"""/people and /who: the people of the record, each with every role the sources give them.

A role is true as of its date and its source, never "now": a card lists them oldest first, each
with its source, then the events the person took part in. ``/who <name>`` finds a person by any
spelling the record knows of their name (the name itself and its aliases), case aside.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import rendering
from bot.context import App, Context, pressed
from bot.paging import page_of
from bot.reader.wording import Wording
from bot.telegram.callbacks import PeoplePage, PersonCard
from bot.telegram.deeplinks import deep_link
from bot.telegram.keyboards import button, keyboard, pager
from bot.telegram.replies import replace, reply
from bot.texts import Html, Texts
from storage.knowledge import Knowledge, listed
from storage.models import ItemKind, Person

PAGE_SIZE = 8
# Several people matching /who are offered as buttons, at most this many.
SHOWN_MATCHES = 8


def _list_page(
    t: Texts, known: Knowledge, number: int
) -> tuple[Html, InlineKeyboardMarkup | None]:
    page = page_of(known.people, number=number, size=PAGE_SIZE)
    if not page.items:
        return t("people.empty"), None
    w = Wording(t, known)
    rows = [
        [button(w.text(person, "name"), PersonCard(person.id, page.number))]
        for person in page.items
    ]
    rows.append(pager(t, number=page.number, count=page.count, to=PeoplePage))
    paging = rendering.paging(t, number=page.number, count=page.count)
    return t("people.page", paging=paging, total=page.total), keyboard(rows)


def matching(known: Knowledge, typed: str) -> list[Person]:
    """People whose name, another spelling of it or its translation contains what was typed,
    case aside."""
    wanted = " ".join(typed.split()).casefold()
    return [
        person
        for person in known.people
        if any(wanted in name.casefold() for name in _names(known, person))
    ]


def _names(known: Knowledge, person: Person) -> list[str]:
    translated = known.translated(ItemKind.PERSON, person.id, "name")
    return [person.name, *listed(person.aliases), *translated]


async def show_people(update: Update, context: Context) -> None:
    """The first page of people."""
    await reply(update, *_list_page(context.texts, context.bot_data.knowledge, 0))


async def find_person(update: Update, context: Context) -> None:
    """``/who <name>``: the person's card, or a choice of those whose names match."""
    t, known = context.texts, context.bot_data.knowledge
    typed = context.command_text
    if not typed:
        await reply(update, t("who.usage"))
        return
    found = matching(known, typed)
    if not found:
        await reply(update, t("who.nobody", name=typed))
    elif len(found) == 1:
        await reply(update, rendering.person_view(Wording(t, known), found[0]))
    else:
        w = Wording(t, known)
        rows = [
            [button(w.text(person, "name"), PersonCard(person.id, 0))]
            for person in found[:SHOWN_MATCHES]
        ]
        await reply(update, t("who.several", name=typed, count=len(found)), keyboard(rows))


async def turn_people_page(update: Update, context: Context) -> None:
    query, data = pressed(update)
    await query.answer()
    number = PeoplePage.parse(data).number
    await replace(query, *_list_page(context.texts, context.bot_data.knowledge, number))


async def open_person(update: Update, context: Context) -> None:
    """A person's card, with a way back to the list."""
    query, data = pressed(update)
    t, known = context.texts, context.bot_data.knowledge
    wanted = PersonCard.parse(data)
    person = known.person(wanted.person_id)
    if person is None:
        await query.answer(t("people.gone"), show_alert=True)
        await replace(query, *_list_page(t, known, wanted.number))
        return
    await query.answer()
    back = keyboard([[button(t("button.back_to_list"), PeoplePage(wanted.number))]])
    await replace(query, rendering.person_view(Wording(t, known), person), back)


def register(app: App) -> None:
    app.add_handlers(
        [
            CommandHandler("people", show_people),
            CommandHandler("who", find_person),
            deep_link("people", show_people),
            CallbackQueryHandler(turn_people_page, pattern=PeoplePage.pattern()),
            CallbackQueryHandler(open_person, pattern=PersonCard.pattern()),
        ]
    )
