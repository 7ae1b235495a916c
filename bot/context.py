"""The typed state every handler gets, and the aliases that carry it through PTB's generics."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Self
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import CallbackQuery, Update
from telegram.ext import Application, CallbackContext, JobQueue

from bot.clock import Clock
from bot.digest.ticker import Ticker
from bot.ops.metrics import Metrics
from bot.ops.server import OpsServer
from bot.reader.preferences import Preferences
from bot.settings import Settings
from bot.telegram.courier import Courier
from bot.telegram.intake import Intake
from bot.telegram.search_memory import RecentSearches
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
    # Each chat's language and zone.
    preferences: Preferences
    # The updates in hand, once polling has started.
    intake: Intake
    # What /metrics and /readyz read (bot/ops/), and their server, if [ops] listen is set.
    metrics: Metrics
    ops_server: OpsServer | None


@dataclass
class UserData:
    """What the bot keeps of one user, in memory only: a restart forgets it.

    ``drafts`` holds an admin's drafts by flow, then by the token their buttons carry
    (bot.curation.drafts); nothing else is kept per user.
    """

    drafts: dict[str, dict[str, Any]] = field(default_factory=dict)


class Context(CallbackContext[Courier, UserData, dict[Any, Any], BotData]):
    """PTB's context, plus what every handler asks of the update it was made for.

    The properties replace the ``assert x is not None`` a handler would otherwise need: a
    handler is registered for updates that have what it asks (a command has a message, an
    admin's update has a user), so a missing one is a programming error and raises.
    """

    _update: object = None

    @classmethod
    def from_update(
        cls, update: object, application: Application[Any, Self, Any, Any, Any, Any]
    ) -> Self:
        context = super().from_update(update, application)
        context._update = update
        return context

    def _sent(self) -> Update:
        if not isinstance(self._update, Update):
            raise RuntimeError("this context was not made for an update")
        return self._update

    @property
    def language(self) -> str:
        """The chat's language: what it chose, or its first sender's; for a chat the bot has
        not met, the sender's."""
        sent = self._sent()
        chat = sent.effective_chat
        chosen = self.bot_data.preferences.of(chat.id).language if chat else None
        return chosen or texts(sent).language

    @property
    def texts(self) -> Texts:
        """The texts in the chat's language."""
        return texts_for(self.language)

    @property
    def zone(self) -> ZoneInfo:
        """The zone the chat reads times in: its own, or the bot's (``[time] zone``)."""
        return self.bot_data.preferences.zone(self.chat_id, self.bot_data.settings.zone)

    @property
    def user_id(self) -> int:
        """Who sent the update: for an admin handler, the admin."""
        user = self._sent().effective_user
        if user is None:
            raise RuntimeError("the update has no user")
        return user.id

    @property
    def chat_id(self) -> int:
        """The chat the update came from: every command and press has one."""
        chat = self._sent().effective_chat
        if chat is None:
            raise RuntimeError("the update has no chat")
        return chat.id

    @property
    def now(self) -> datetime:
        return self.bot_data.clock.now()

    @property
    def text(self) -> str:
        """The message as plain text: formatting the sender applied is not taken as markup."""
        message = self._sent().effective_message
        return message.text if message and message.text else ""

    @property
    def today(self) -> date:
        """The day it is in the chat's zone."""
        return self.now.astimezone(self.zone).date()

    @property
    def command_text(self) -> str:
        """What follows the command word, line breaks kept."""
        words = self.text.split(maxsplit=1)
        return words[1].strip() if len(words) > 1 else ""

    @property
    def drafts(self) -> dict[str, dict[str, Any]]:
        """The sender's drafts by flow (bot.curation.drafts keeps them)."""
        if self.user_data is None:
            raise RuntimeError("the update has no user, who would have drafts")
        return self.user_data.drafts


App = Application[Courier, Context, UserData, dict[Any, Any], BotData, JobQueue[Context]]


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
