"""Inline keyboards built from typed callback data."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import CallbackData

Row = list[InlineKeyboardButton]


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data.data)


def pager(
    previous: CallbackData | None, following: CallbackData | None, *, back: str, more: str
) -> Row:
    """A ‹ / › row with only the directions that lead somewhere."""
    row = []
    if previous is not None:
        row.append(button(back, previous))
    if following is not None:
        row.append(button(more, following))
    return row


def keyboard(rows: Sequence[Row]) -> InlineKeyboardMarkup | None:
    """A keyboard of the non-empty rows, or none at all."""
    kept = [row for row in rows if row]
    return InlineKeyboardMarkup(kept) if kept else None
