"""Each chat's language and zone, in memory: every reply needs them, none waits on the database.

Read from the chats table at start and written through when a chat chooses (/language, the
zone buttons of /settings). A chat the bot has not met reads in its sender's Telegram language.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.reader.dates import readable
from storage import chats
from storage.chats import Preference, Sighting

NONE = Preference(language=None, zone=None)


class Preferences:
    def __init__(self) -> None:
        self._chats: dict[int, Preference] = {}

    async def load(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        async with sessions() as session:
            self._chats = await chats.preferences(session)

    async def reread(self, sessions: async_sessionmaker[AsyncSession], chat_ids: set[int]) -> None:
        """Read these chats again: another process has written their choice."""
        async with sessions() as session:
            self._chats.update(await chats.preferences_of(session, chat_ids))

    def meet(self, chat_id: int, language: str | None) -> None:
        """A chat seen: one the bot meets now reads in its first sender's language."""
        if language and chat_id not in self._chats:
            self._chats[chat_id] = Preference(language=language, zone=None)

    def of(self, chat_id: int) -> Preference:
        return self._chats.get(chat_id, NONE)

    def zone(self, chat_id: int, default: ZoneInfo) -> ZoneInfo:
        """The chat's zone; the bot's for one it did not choose, or one this machine's zone
        database no longer has (as its digests do, bot/digest/due.py)."""
        chosen = self.of(chat_id).zone
        return ZoneInfo(chosen) if chosen and readable(chosen) else default

    async def choose(
        self, sessions: async_sessionmaker[AsyncSession], seen: Sighting, chosen: Preference
    ) -> None:
        """Write the chat's choice, then keep it: a failed write changes nothing."""
        async with sessions.begin() as session:
            await chats.prefer(session, seen, chosen)
        self._chats[seen.chat_id] = chosen
