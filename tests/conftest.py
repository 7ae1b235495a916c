"""Shared fixtures: a fresh migrated database per test, a settable clock, the curated content.

The databases are copies: the migrations run once a session, into templates (one empty, one with
content/ loaded), and each test gets its own copy of the file. Tests of the migrations and of a
first start make theirs from nothing, as the bot does."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import shutil
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import build_app
from bot.clock import ManualClock
from bot.context import App
from bot.emulator import BotApiEmulator, ChatSession, SentMessage, User
from bot.logs import Secret, redact_records
from bot.ops.listen import Listen
from bot.runtime import PATIENT, open_database, serving, sync
from bot.settings import DEFAULT_CONTENT, Limits, Settings
from bot.telegram.polling import Backoff
from bot.webhook.settings import WebhookSettings
from storage.db import create_engine, session_factory
from tests.databases import run_apart
from tests.databases import server as database_server
from tests.pages import PageServer

TEST_TOKEN = "123456789:test-token-never-real-0123456789"
# The PostgreSQL server this run's databases are on, or None: SQLite files (tests/databases.py).
POSTGRESQL = database_server()
# What a test reads or writes itself that only an SQLite database has: its file, its templates'.
SQLITE_FIXTURES = {"db_path", "migrated_template", "synced_template"}
# The webhook's secret in webhook mode; like the token, it must never reach a log line.
TEST_WEBHOOK_SECRET = "test-webhook-secret_never-real-9876543210"
# How updates reach the bot: long polling, or pushed to its webhook (the `updates_by` fixture).
UPDATES_BY = ("polling", "webhook")
# The whole suite's way, unless a test asks for both: COOPBOT_TEST_UPDATES=webhook (README).
SUITE_UPDATES_BY = os.environ.get("COOPBOT_TEST_UPDATES", "polling")
# One test of each handler module runs both ways in the default suite: decorate it with this.
both_ways = pytest.mark.parametrize("updates_by", UPDATES_BY, indirect=True)
# A test of long polling itself (it drives getUpdates), whichever way the suite runs.
by_polling = pytest.mark.parametrize("updates_by", ["polling"], indirect=True)
# A moment after every event in content/ (all in 2023), as on the day this was written.
DEFAULT_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
# Limits the pacing never has to wait for, where a test is about something else: it would only
# add real seconds (pacing has its own tests).
UNPACED = Limits(per_second=10_000, per_chat_per_second=10_000, per_group_per_minute=10**6)
# Short long polls, so that stopping the bot at a test's end is quick.
POLL_TIMEOUT = 1.0


class TokenWatch(logging.Handler):
    """Notes every log line, traceback included, that would show the bot token or the webhook's
    secret."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        if TEST_TOKEN in line or TEST_TOKEN.split(":")[1] in line or TEST_WEBHOOK_SECRET in line:
            self.leaks.append(line)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each pass runs the tests its database is for, and says which it left to the other.

    The SQLite pass leaves the tests marked ``postgresql`` (of PostgreSQL's own LISTEN, say).
    The PostgreSQL pass leaves the tests of SQLite itself (marked ``sqlite``, or reading its
    file through an SQLite fixture) and those marked ``no_database`` (lint, types, texts: run
    once is enough, they would give the same answer on any database).
    """
    if POSTGRESQL is None:
        elsewhere = [item for item in items if item.get_closest_marker("postgresql")]
    else:
        elsewhere = [
            item
            for item in items
            if item.get_closest_marker("sqlite")
            or item.get_closest_marker("no_database")
            or SQLITE_FIXTURES & set(getattr(item, "fixturenames", ()))
        ]
    if elsewhere:
        config.hook.pytest_deselected(items=elsewhere)
        left = set(elsewhere)
        items[:] = [item for item in items if item not in left]


@pytest.fixture(autouse=True)
def token_never_logged() -> Iterator[None]:
    """Every test runs with every logger at DEBUG, masked as `coopbot run` masks: no leak."""
    root = logging.getLogger()
    level = root.level
    undo = redact_records(TEST_TOKEN, TEST_WEBHOOK_SECRET)
    watch = TokenWatch()
    root.addHandler(watch)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(watch)
        root.setLevel(level)
        undo()
    assert not watch.leaks, f"a secret reached {len(watch.leaks)} log line(s): {watch.leaks[0]}"


@pytest.fixture
async def pages() -> AsyncIterator[PageServer]:
    """The web pages of tests/pages.py, served on a free loopback port until the test ends."""
    async with PageServer().running() as server:
        yield server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(DEFAULT_NOW)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """The SQLite file of `settings`: a test that asks for it reads the file itself, and runs on
    the SQLite pass only."""
    return _database_file(tmp_path)


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """The bot's settings, on the test's database: at `db_path`, or on the PostgreSQL server of
    the run, a copy of the content-loaded template if the test uses `sessions`, else empty."""
    name = None
    url = f"sqlite+aiosqlite:///{_database_file(tmp_path)}"
    if POSTGRESQL is not None:
        name = POSTGRESQL.new_name()
        synced = "sessions" in request.fixturenames
        template = request.getfixturevalue("postgresql_synced") if synced else None
        url = POSTGRESQL.create(name, template=template)
    yield Settings(token=Secret(TEST_TOKEN), storage_url=url, content_dir=DEFAULT_CONTENT)
    if POSTGRESQL is not None and name is not None:
        POSTGRESQL.drop(name)


def _database_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "coopbot.db"


def _template(folder: Path, *, content: bool) -> Path:
    """A database migrated to the newest revision (content/ loaded if `content`), made once."""
    path = folder / "coopbot.db"
    _build_template(f"sqlite+aiosqlite:///{path}", content=content)
    return path


def _build_template(url: str, *, content: bool) -> None:
    settings = Settings(token=Secret(TEST_TOKEN), storage_url=url, content_dir=DEFAULT_CONTENT)

    async def build() -> None:
        async with open_database(settings) as database:
            if content:
                await sync(settings, database.sessions)

    # A loop of its own: a session-wide fixture outlives each test's loop. Disposing the engine
    # closes the last connection, which folds the write-ahead log into the file.
    run_apart(build)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrated, empty database that each test's `engine` copies."""
    return _template(tmp_path_factory.mktemp("migrated"), content=False)


@pytest.fixture(scope="session")
def synced_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The migrated database with content/ loaded, that each test's `sessions` copies."""
    return _template(tmp_path_factory.mktemp("synced"), content=True)


def _postgresql_template(*, content: bool) -> Iterator[str]:
    """On the PostgreSQL pass, a database that each test's copies, made once; its name."""
    assert POSTGRESQL is not None
    name = POSTGRESQL.new_name()
    try:
        _build_template(POSTGRESQL.create(name), content=content)
        yield name
    finally:
        POSTGRESQL.drop(name)


# Apart, so that a test of the migrated schema alone does not wait on (or fail with) a sync.
@pytest.fixture(scope="session")
def postgresql_migrated() -> Iterator[str]:
    yield from _postgresql_template(content=False)


@pytest.fixture(scope="session")
def postgresql_synced() -> Iterator[str]:
    yield from _postgresql_template(content=True)


def copied(template: Path, path: Path) -> Path:
    """The template copied to `path`, for one test to change as it likes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)
    return path


@pytest.fixture
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A fresh migrated database with nothing in it."""
    if POSTGRESQL is None:
        path = copied(request.getfixturevalue("migrated_template"), tmp_path / "coopbot.db")
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        yield engine
        await engine.dispose()
        return
    name = POSTGRESQL.new_name()
    template = request.getfixturevalue("postgresql_migrated")
    engine = create_engine(POSTGRESQL.create(name, template=template))
    try:
        yield engine
    finally:
        await engine.dispose()
        POSTGRESQL.drop(name)


@pytest.fixture
async def sessions(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The migrated database of `settings`, with content/ loaded."""
    if POSTGRESQL is None:
        copied(request.getfixturevalue("synced_template"), _database_file(tmp_path))
    engine = create_engine(settings.storage_url)
    yield session_factory(engine)
    await engine.dispose()


@dataclass
class Running:
    """The bot taking updates from the emulator: what a test drives and inspects."""

    emulator: BotApiEmulator
    app: App
    clock: ManualClock
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings

    def user(self, user_id: int = 1001, first_name: str = "Aigerim", **kwargs: Any) -> User:
        return self.emulator.user(user_id, first_name, **kwargs)

    def chat(self, user_id: int = 1001, **kwargs: Any) -> ChatSession:
        """A private chat with a new user."""
        return self.emulator.private_chat(self.user(user_id, **kwargs))


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TEST_TOKEN) as emulator:
        yield emulator


@pytest.fixture
def updates_by(request: pytest.FixtureRequest) -> str:
    """ "polling" or "webhook": how `running` gets its updates. The suite's way
    (SUITE_UPDATES_BY) unless a test is parametrised with it indirectly (`both_ways`)."""
    way: str = getattr(request, "param", SUITE_UPDATES_BY)
    assert way in UPDATES_BY, f"updates_by: {way!r} is not one of {UPDATES_BY}"
    return way


@pytest.fixture
async def running(
    emulator: BotApiEmulator,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    updates_by: str,
) -> AsyncIterator[Running]:
    """Emulator and bot, on a fresh database with content/ loaded, taking updates (as
    `updates_by` says) until the test ends."""
    async with started(emulator, settings, sessions, clock, updates_by=updates_by) as running:
        yield running


# The curators of the tests that need them, by numeric id as [admins] user_ids takes them.
ADMIN, OTHER_ADMIN = 4242, 4343


def curator(running: Running, user_id: int = ADMIN) -> ChatSession:
    """An admin's private chat with the bot; the admin is called "Curator"."""
    return running.chat(user_id, first_name="Curator")


@asynccontextmanager
async def started(
    emulator: BotApiEmulator,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    *,
    backoff: Backoff = PATIENT,
    read_timeout: float = 5.0,
    updates_by: str = "polling",
) -> AsyncIterator[Running]:
    """The bot taking updates from the emulator until the block ends: one start of the process,
    so that a test can stop it and start it again on the same database. By webhook, it listens
    where [ops] listen says if set (its health and metrics are there too), else on a free port."""
    settings = dataclasses.replace(
        settings, base_url=emulator.base_url, base_file_url=emulator.base_file_url
    )
    if updates_by == "webhook" and settings.webhook is None:
        settings = dataclasses.replace(settings, webhook=webhook_settings(settings))
    app = build_app(
        settings, sessions, clock=clock, poll_timeout=POLL_TIMEOUT, read_timeout=read_timeout
    )
    calls = len(emulator.calls)
    async with serving(app, poll_timeout=POLL_TIMEOUT, backoff=backoff):
        if settings.webhook is not None:
            # Listening, and Telegram told: a test may push to it itself.
            await emulator.wait_for_call("setWebhook", after=calls, timeout=10.0)
        yield Running(emulator, app, clock, sessions, settings)


def closed_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def webhook_settings(settings: Settings, *, path: str = "/telegram") -> WebhookSettings:
    """Webhook mode on loopback, at [ops] listen if it is set (one server serves both)."""
    listen = settings.ops_listen or Listen("127.0.0.1", closed_port())
    return WebhookSettings(
        url=f"http://{listen}{path}", listen=listen, secret=Secret(TEST_WEBHOOK_SECRET)
    )


async def answers_before(
    chat: ChatSession, marker: str, is_its_answer: Callable[[str], bool]
) -> list[SentMessage]:
    """Send `marker` and collect the bot's messages up to its answer to it: a chat's updates
    are handled in order, so what comes before is the bot's whole answer to what was sent
    earlier."""
    chat.say(marker)
    seen = [await chat.next_message()]
    while not is_its_answer(seen[-1].text):
        seen.append(await chat.next_message())
    return seen


async def until_handled(running: Running, update_id: int, *, timeout: float = 5.0) -> None:  # noqa: ASYNC109 (a deadline, as in the emulator's waits)
    """Until the bot has handled an update, answered or not: a getUpdates past its id (or its
    push answered 200) says the bot had taken it, and the intake settling says every update it
    took is done."""
    calls = running.emulator.calls
    after = 0
    async with asyncio.timeout(timeout):
        if running.settings.webhook is not None:
            await running.emulator.webhooks.wait_for_attempt(update_id, delivered=True)
        while running.settings.webhook is None:
            call = await running.emulator.wait_for_call("getUpdates", after=after)
            offset = call.params.get("offset")
            if isinstance(offset, int) and offset > update_id:
                break
            after = next(i for i, seen in enumerate(calls) if seen is call) + 1
        await running.app.bot_data.intake.settled()
