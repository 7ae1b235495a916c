"""Only the kinds of update the bot asks for reach a feature.

Telegram keeps updates it made before the bot narrowed ``allowed_updates`` and delivers them
anyway: an edited ``/subscribe`` would subscribe again (PTB's CommandHandler takes edits) and a
channel post ``/subscribe`` would be told the command is unknown. Nothing here answers them.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot.context import App, Context
from bot.telegram.intake import ALLOWED_UPDATES

log = logging.getLogger(__name__)

# Before every other group, the knowledge refresh (-2) and the chat sightings (-1) included.
GROUP = -3


def asked_for(update: Update) -> bool:
    """Whether the update is of a kind the bot asks Telegram for."""
    return any(getattr(update, kind, None) is not None for kind in ALLOWED_UPDATES)


async def drop_unasked(update: Update, context: Context) -> None:
    """Stop an update of a kind the bot did not ask for before any other group sees it."""
    if asked_for(update):
        return
    log.debug("update %s is of a kind the bot did not ask for; dropped", update.update_id)
    raise ApplicationHandlerStop


def register(app: App) -> None:
    app.add_handler(TypeHandler(Update, drop_unasked), group=GROUP)
