"""What the digest engine is given of the running bot, and nothing more.

Planning, sending and a broadcast's progress need the database, the clock, the digest settings,
the bot's copy of the curated knowledge and the stopping signal: not the whole ``BotData`` that
handlers share. bot/app.py builds one ``Engine`` from it; a test can build one of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.settings import DigestSettings, Limits
from storage.knowledge import Knowledge


@dataclass(frozen=True)
class Engine:
    """The digest engine's dependencies."""

    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    settings: DigestSettings
    # Sends are paced to these; a fan-out keeps as many in flight as they call for.
    limits: Limits
    # The zone of the summary's crontab, and the one a chat with none of its own reads in.
    zone: ZoneInfo
    # Set once the bot begins to stop: a fan-out ends at its next step.
    stopping: asyncio.Event
    # The bot's copy of the knowledge as it is now, and its revision: a refresh replaces both.
    knowledge: Callable[[], Knowledge]
    revision: Callable[[], int]
    # Reload the knowledge if the database has a newer revision.
    refresh: Callable[[], Awaitable[object]]
    # Write the chats noted since the last save: one that came back with /start is a recipient.
    save_sightings: Callable[[], Awaitable[None]]
    # Told when a tick begins, and of the status of each delivery marked, by digest kind: the
    # health and metrics (bot/ops/).
    ticked: Callable[[datetime], None]
    delivered: Callable[[str, Iterable[str]], None]
