"""The typed state every handler gets, and the aliases that carry it through PTB's generics."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import CallbackQuery, Update
from telegram.ext import Application, CallbackContext, JobQueue

from bot.clock import Clock
from bot.digest.ticker import Ticker
from bot.search_memory import RecentSearches
from bot.settings import Settings
from bot.telegram.courier import Courier
from bot.telegram.intake import Intake
from bot.texts import Texts, texts_for
from storage.changes import ChangeWatch
from storage.chats import Sighting
from storage.knowledge import Knowledge
from storage.search import SearchIndex


class BotData:
    """Application-wide dependencies, set once by ``build_app`` before the bot starts.

    PTB creates this object itself with no arguments, so the attributes are declared here and
    assigned right after the application is built.
    """

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    # The curated knowledge, read from the database at start and whenever it changes.
    knowledge: Knowledge
    knowledge_revision: int
    changes: ChangeWatch
    # Opened when the application starts, on its event loop.
    search_index: SearchIndex
    # What each search's paging buttons stand for: the words do not fit in a button.
    recent_searches: RecentSearches
    # When each chat was last written to the database by this process: seeing a chat again
    # within the hour does not cost a write per message.
    chats_seen: dict[int, datetime]
    chats_unsaved: dict[int, Sighting]
    # Each admin's name as Telegram last gave it, for /history and conflict reports: read from
    # the chats table at start, then taken from every update an admin sends.
    admin_names: dict[int, str]
    # When the admins were last told of an error, and how many errors came since: at most one
    # report a minute, so a failure on every update does not flood them.
    errors_reported_at: datetime | None
    errors_unreported: int
    # Set once the bot begins to stop: long work (a digest's fan-out) ends at its next step.
    stopping: asyncio.Event
    # The digest tick, with the engine it runs; a confirmed broadcast kicks it.
    ticker: Ticker
    # The updates in hand, once polling has started.
    intake: Intake


Context = CallbackContext[Courier, dict[Any, Any], dict[Any, Any], BotData]
App = Application[Courier, Context, dict[Any, Any], dict[Any, Any], BotData, JobQueue[Context]]


def texts(update: Update) -> Texts:
    """The texts in the language of whoever sent this update."""
    user = update.effective_user
    return texts_for(user.language_code if user else None)


def pressed(update: Update) -> tuple[CallbackQuery, str]:
    """The button press a callback-query handler was called for, and its data."""
    query = update.callback_query
    if query is None or query.data is None:
        raise ValueError("not a callback query with data")
    return query, query.data
