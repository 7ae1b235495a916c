"""Inline keyboards built from typed callback data."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.calendars.files import in_calendar
from bot.telegram.callbacks import CalendarFile, CallbackData
from bot.texts import Texts, shorten
from storage.models import Event

Row = list[InlineKeyboardButton]


# Telegram cuts a long label in the middle of a word, or drops its end on a narrow phone.
LABEL_LIMIT = 48


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    """A button whose label, if long, is cut at a word with "…"."""
    return InlineKeyboardButton(shorten(text, LABEL_LIMIT), callback_data=data.data)


def pager(t: Texts, *, number: int, count: int, to: Callable[[int], CallbackData]) -> Row:
    """A ‹ / › row for page ``number`` of ``count``, with only the directions that lead somewhere;
    ``to`` makes the button data that opens a page."""
    row = []
    if number > 0:
        row.append(button(t("button.previous"), to(number - 1)))
    if number + 1 < count:
        row.append(button(t("button.next"), to(number + 1)))
    return row


def keyboard(rows: Sequence[Row]) -> InlineKeyboardMarkup | None:
    """A keyboard of the non-empty rows, or none at all."""
    kept = [row for row in rows if row]
    return InlineKeyboardMarkup(kept) if kept else None


def calendar_row(t: Texts, event: Event) -> Row:
    """ "📅 Add to calendar" for an event's card; no button for an event known only to its
    month: a calendar cannot hold it without a day, and a button that only says so is a tap
    for nothing (the card already gives the month)."""
    if not in_calendar(event):
        return []
    return [button(t("button.add_to_calendar"), CalendarFile(event.id))]
