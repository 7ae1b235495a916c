"""Noticing, for a few microseconds a look, that someone else wrote to the database.

SQLite: ``PRAGMA data_version`` on a private read-only connection, read at each look: it reads
the shared WAL index, takes no lock and needs no thread, so it can run before every update.

PostgreSQL: no such probe, but each statement that writes a curated table notifies the channel
``coopbot_changes`` (migration 0018), when its transaction commits and not if it rolls back. The
watch LISTENs on a connection of its own; a notice sets a flag, and a look reads the flag. If
that connection is lost (the server restarted, an operator ended it) the watch says so in a
warning and connects again, waiting longer after each failure, up to RECONNECT_MAX; until it
listens again every look answers "maybe changed", and once it does, every chat's choice is to
be read again: a reload too many rather than a change missed.

A chat's choice of language or zone (kept in each process's memory, bot/reader/preferences.py)
is told on the same channel, as ``preferences:<chat id>``, by the transaction that writes it;
the watch hands the chat ids over to be read again. SQLite's bots are one process: nothing to
tell.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialect import on_postgresql
from storage.urls import POSTGRESQL, SQLITE

CHANNEL = "coopbot_changes"
# What a notice on the channel says changed: 0018's trigger says "knowledge"; a chat's choice
# of language or zone, "preferences:<chat id>".
KNOWLEDGE = "knowledge"
PREFERENCES = "preferences:"
# The wait before the first attempt to listen again, doubled after each failure up to the max.
RECONNECT_FIRST = 0.5
RECONNECT_MAX = 30.0

log = logging.getLogger(__name__)


class ChangeWatch:
    """Whether another connection has committed a change to the curated knowledge since the
    last look. The first look answers yes: nothing has been read yet.

    ``start`` and ``close`` run on the bot's event loop (PostgreSQL's listening connection lives
    there); ``changed`` is a synchronous look, cheap enough for every update. ``heard`` is told
    each notice's payload as it arrives, for whoever needs to know when one has (the tests).
    """

    def __init__(self, url: str, *, heard: Callable[[str], None] | None = None) -> None:
        parsed = make_url(url)
        self._backend = parsed.get_backend_name()
        self._heard = heard
        self._sqlite: sqlite3.Connection | None = None
        self._seen: int | None = None
        self._listening: Any = None  # an asyncpg.Connection: asyncpg ships no types
        self._dsn = parsed.set(drivername=POSTGRESQL).render_as_string(hide_password=False)
        # Changed until a look says otherwise; for PostgreSQL, set again by each notice.
        self._dirty = True
        self._chosen: set[int] = set()
        # Notices may have been missed (the connection was lost): every chat is to be read.
        self._missed = False
        self._closing = False
        self._reconnecting: asyncio.Task[None] | None = None
        # Set while the listening connection is lost: every look answers "maybe changed".
        self.lost = asyncio.Event()
        # Set each time the watch listens again after a loss (for the tests).
        self.listening_again = asyncio.Event()
        if self._backend == SQLITE and parsed.database not in (None, "", ":memory:"):
            self._sqlite = sqlite3.connect(f"file:{parsed.database}?mode=ro", uri=True)

    async def start(self) -> None:
        """Begin listening (PostgreSQL; nothing to do for SQLite): before the first read of the
        knowledge, so that no commit falls between that read and the first notice."""
        if self._backend != POSTGRESQL or self._listening is not None:
            return
        await self._listen()

    async def _listen(self) -> None:
        connection = await asyncpg.connect(self._dsn)
        try:
            await connection.add_listener(CHANNEL, self._notice)
        except BaseException:
            await connection.close()
            raise
        connection.add_termination_listener(self._lose)
        self._listening = connection

    def changed(self) -> bool:
        if self._sqlite is not None:
            (version,) = self._sqlite.execute("PRAGMA data_version").fetchone()
            changed = version != self._seen
            self._seen = version
            return bool(changed)
        if self._listening is None or self.lost.is_set():
            return True
        changed, self._dirty = self._dirty, False
        return changed

    def chose(self) -> set[int] | None:
        """The chats another process (or this one) has written a new language or zone of since
        the last look; None if any chat may have: notices were missed while not listening."""
        if self._missed:
            self._missed = False
            self._chosen.clear()
            return None
        chosen, self._chosen = self._chosen, set()
        return chosen

    async def close(self) -> None:
        self._closing = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            await asyncio.gather(self._reconnecting, return_exceptions=True)
            self._reconnecting = None
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        if self._listening is not None:
            await self._listening.close()
            self._listening = None

    def _notice(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        if payload == KNOWLEDGE:
            self._dirty = True
        elif payload.startswith(PREFERENCES) and payload[len(PREFERENCES) :].lstrip("-").isdigit():
            self._chosen.add(int(payload[len(PREFERENCES) :]))
        if self._heard is not None:
            self._heard(payload)

    def _lose(self, _connection: object) -> None:
        if self._closing:
            return
        log.warning(
            "The connection listening for other processes' changes is lost: connecting again; "
            "until then the knowledge revision is read before every update"
        )
        self._listening = None
        self.lost.set()
        self.listening_again.clear()
        self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        wait = RECONNECT_FIRST
        while True:
            await asyncio.sleep(wait)
            try:
                await self._listen()
            except Exception as error:  # whatever it was, the next try may do better
                wait = min(wait * 2, RECONNECT_MAX)
                log.debug("Listening again failed (%s); next try in %.1f s", error, wait)
                continue
            break
        # What was told while nobody listened is unknown: read it all again.
        self._dirty = True
        self._missed = True
        self.lost.clear()
        self.listening_again.set()
        log.info("Listening for other processes' changes again")


async def tell_preferences(session: AsyncSession, chat_id: int) -> None:
    """On PostgreSQL, tell every bot process, when this transaction commits, that the chat has
    chosen a new language or zone."""
    if on_postgresql(session):
        await session.execute(select(func.pg_notify(CHANNEL, f"{PREFERENCES}{chat_id}")))
