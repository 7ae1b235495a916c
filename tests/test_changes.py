"""On PostgreSQL, the change watch hears other processes' commits to the curated knowledge, and
only those: a rolled-back write and a write to a table of the bot's own are not news.

The bot's side on SQLite (another process's edit shows in the next answer) is
tests/test_robustness.py's test_an_edit_by_another_process_shows_in_the_next_answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.bot_models import Chat
from storage.changes import CHANNEL, ChangeWatch
from storage.db import session_factory
from storage.models import Topic
from tests.helpers import end_the_listening_connection

pytestmark = pytest.mark.postgresql

# Long enough for a loaded machine; a notice on loopback arrives in milliseconds.
PATIENCE = 10.0
# What a test sends on the channel after the writes it checks: once it has arrived, every
# notice of a write committed before it has arrived too (notices come in commit order).
PROBE = "probe"
AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class Heard:
    """The payloads the watch heard, and a way to wait for one."""

    def __init__(self) -> None:
        self.payloads: list[str] = []
        self._arrived = asyncio.Condition()
        self._loop = asyncio.get_running_loop()

    def __call__(self, payload: str) -> None:
        self.payloads.append(payload)
        self._loop.create_task(self._tell())

    async def _tell(self) -> None:
        async with self._arrived:
            self._arrived.notify_all()

    async def until(self, payload: str) -> None:
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: payload in self.payloads), PATIENCE
            )


@pytest.fixture
async def heard() -> Heard:
    return Heard()


@pytest.fixture
async def watch(engine: AsyncEngine, heard: Heard) -> AsyncIterator[ChangeWatch]:
    watch = ChangeWatch(engine.url.render_as_string(hide_password=False), heard=heard)
    await watch.start()
    assert watch.changed()  # nothing read yet
    assert not watch.changed()
    yield watch
    await watch.close()


async def probe(engine: AsyncEngine, heard: Heard) -> None:
    """Send the probe from another connection and wait until the watch has heard it."""
    async with engine.begin() as connection:
        await connection.execute(
            text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": PROBE}
        )
    await heard.until(PROBE)
    heard.payloads.remove(PROBE)


async def add_topic(engine: AsyncEngine, topic_id: str) -> None:
    async with session_factory(engine).begin() as session:
        session.add(Topic(id=topic_id, title="Reactors", position=1))


async def test_a_commit_to_a_curated_table_is_a_change(
    engine: AsyncEngine, watch: ChangeWatch, heard: Heard
) -> None:
    await add_topic(engine, "reactors")
    await heard.until("knowledge")
    assert watch.changed()
    assert not watch.changed()  # once: the next look is after it


async def test_a_rolled_back_write_is_no_change(
    engine: AsyncEngine, watch: ChangeWatch, heard: Heard
) -> None:
    async with session_factory(engine)() as session:
        session.add(Topic(id="reactors", title="Reactors", position=1))
        await session.flush()  # the INSERT runs, and its trigger: only the commit would tell
        await session.rollback()
    await probe(engine, heard)
    assert heard.payloads == []
    assert not watch.changed()
    # The same write committed is one: the watch was listening all along.
    await add_topic(engine, "reactors")
    await heard.until("knowledge")
    assert watch.changed()


async def test_a_write_to_the_chats_is_no_change_to_the_knowledge(
    engine: AsyncEngine, watch: ChangeWatch, heard: Heard
) -> None:
    async with session_factory(engine).begin() as session:
        session.add(Chat(id=1001, type="private", title="Aigerim", first_seen=AT, last_seen=AT))
    await probe(engine, heard)
    assert not watch.changed()
    await add_topic(engine, "reactors")
    await heard.until("knowledge")
    assert watch.changed()


async def test_a_lost_connection_is_said_and_the_watch_listens_again(
    engine: AsyncEngine, watch: ChangeWatch, heard: Heard, caplog: pytest.LogCaptureFixture
) -> None:
    await end_the_listening_connection(engine.url.render_as_string(hide_password=False))
    await asyncio.wait_for(watch.lost.wait(), PATIENCE)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.name for r in warnings] == ["storage.changes"]
    assert "lost" in warnings[0].getMessage()
    await asyncio.wait_for(watch.listening_again.wait(), PATIENCE)
    # What was told meanwhile is unknown: the knowledge and every chat's choice are read again.
    assert watch.changed()
    assert watch.chose() is None
    assert not watch.changed()
    assert watch.chose() == set()
    # And it hears again.
    await add_topic(engine, "reactors")
    await heard.until("knowledge")
    assert watch.changed()
