"""Remembering every chat that talks to the bot, before any other handler runs."""

from __future__ import annotations

from telegram import Update
from telegram.ext import TypeHandler

from bot import sightings
from bot.context import App, Context

SAVE_INTERVAL_SECONDS = 1.0


async def note_chat(update: Update, context: Context) -> None:
    sightings.note(context.bot_data, update)


async def save_chats_job(context: Context) -> None:
    await sightings.save(context.bot_data)


def register(app: App) -> None:
    # Group -1 runs before the feature handlers in group 0 and does not stop them.
    app.add_handler(TypeHandler(Update, note_chat), group=-1)
    assert app.job_queue is not None  # the builder is always given one
    app.job_queue.run_repeating(
        save_chats_job, interval=SAVE_INTERVAL_SECONDS, first=SAVE_INTERVAL_SECONDS
    )
