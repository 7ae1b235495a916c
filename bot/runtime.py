"""Start-up shared by ``coopbot run`` and ``coopbot sandbox``: database, content, polling."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.content import load_content
from bot.context import App
from bot.intake import ALLOWED_UPDATES
from bot.settings import Settings
from storage import search
from storage.db import create_engine, migrate, session_factory
from storage.sync import SyncReport, sync_content

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """The migrated database; the engine is disposed on the way out."""
    engine = create_engine(settings.storage_url)
    try:
        await migrate(engine)
        yield Database(engine, session_factory(engine))
    finally:
        await engine.dispose()


async def sync(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> SyncReport:
    """Check content/ and load it in one transaction; invalid content changes nothing.

    Raises ``ContentError`` listing every problem, before anything is written.
    """
    records = load_content(settings.content_dir)
    async with sessions.begin() as session:
        report = await sync_content(session, records)
        if report.changed:
            await search.optimize(session)
    return report


@asynccontextmanager
async def polling(app: App, *, poll_timeout: float = 10.0) -> AsyncIterator[App]:
    """The application initialised, started and polling; stopped in order on the way out.

    This is run_polling taken apart so that it can share an event loop, hooks included.
    """
    try:
        async with app:
            if app.post_init is not None:
                await app.post_init(app)
            await app.start()
            assert app.updater is not None  # the builder always makes one unless told not to
            await app.updater.start_polling(
                timeout=int(poll_timeout),
                poll_interval=0,
                drop_pending_updates=False,
                allowed_updates=ALLOWED_UPDATES,
            )
            try:
                yield app
            finally:
                app.bot_data.stopping.set()
                await app.updater.stop()
                await app.stop()
    finally:
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


def freeze_heap() -> None:
    """Keep what start-up loaded out of the garbage collector's way, for a process that is the bot.

    Modules, content and the app live as long as the bot, and every full collection walked
    them: one stopped a fan-out for 70-90 ms (timed once, with gc.callbacks). Garbage goes
    first, so none is frozen with them; frozen objects are never collected.
    """
    gc.collect()
    gc.freeze()


async def wait_for_stop_signal() -> None:
    """Until SIGINT or SIGTERM: the bot stops cleanly either way."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
