"""Start-up shared by ``coopbot run`` and ``coopbot sandbox``: database, content, updates."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.app import ops_server
from bot.context import App
from bot.curation.loading import load_content
from bot.ops.observe import counting
from bot.ops.server import OpsServer
from bot.settings import Settings
from bot.telegram.intake import Intake
from bot.telegram.polling import Backoff, Poller, Unrecoverable, connect
from bot.telegram.reception import Reception
from bot.webhook.receiver import MAX_BODY
from bot.webhook.service import Webhook
from storage import search
from storage.db import create_engine, migrate, session_factory
from storage.sync import SyncReport, sync_content
from storage.urls import database_location

log = logging.getLogger(__name__)

# How long the updates being answered may take to finish once the bot is told to stop: with
# the rest of the stop, well inside the 10 s Docker and systemd wait before they kill.
STOP_GRACE = 2.0
PATIENT = Backoff()


@dataclass(frozen=True)
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """The migrated database; the engine is disposed on the way out."""
    engine = create_engine(settings.storage_url)
    try:
        await _reach(engine, settings.storage_url)
        await migrate(engine)
        yield Database(engine, session_factory(engine))
    finally:
        await engine.dispose()


async def _reach(engine: AsyncEngine, url: str) -> None:
    """Connect once, so that a database server that is down, or refuses the bot's user, is said
    in one line (Unrecoverable: a supervisor restarts the bot, by then the server may be up)."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (OSError, SQLAlchemyError) as error:
        cause = error.orig if isinstance(error, DBAPIError) and error.orig else error
        reason = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        raise Unrecoverable(
            f"storage.url: cannot open the database {database_location(url)} ({reason}); "
            "start the database server, or fix [storage] url"
        ) from None


async def sync(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime | None = None,
) -> SyncReport:
    """Check content/ and load it in one transaction; invalid content changes nothing.

    ``now`` is the bot's clock, if not the machine's (the sandbox's can be set). Raises
    ``ContentError`` listing every problem, before anything is written.
    """
    records = load_content(settings.content_dir)
    async with sessions.begin() as session:
        report = await sync_content(session, records, now=now)
        if report.changed:
            await search.optimize(session)
    return report


@asynccontextmanager
async def serving(
    app: App, *, poll_timeout: float = 10.0, backoff: Backoff = PATIENT
) -> AsyncIterator[App]:
    """The application initialised, started and taking updates; stopped in order on the way out.

    Updates come by polling, or in webhook mode (``[telegram] mode``) pushed to the webhook;
    either way through one reception (bot/telegram/reception.py) into the intake. It waits for
    the Bot API as long as retrying can help (Unrecoverable otherwise; Interrupted if the bot is
    told to stop first). Stopping takes at most STOP_GRACE for the updates being answered, then
    what is left of them is cancelled: their inbox rows keep them for the next start. If taking
    updates ends on its own (Unrecoverable), `stopping` is set and it is raised on the way out.
    """
    stopping = app.bot_data.stopping
    try:
        await connect(app, backoff)
        async with app:
            if app.post_init is not None:
                await app.post_init(app)
            await app.start()
            intake = app.bot_data.intake = Intake(
                counting(app.process_update, app.bot_data.metrics)
            )
            reception = Reception(app, intake)
            receiving = _receiving(app, reception, poll_timeout=poll_timeout, backoff=backoff)
            fetching = asyncio.create_task(receiving.run(), name="taking updates")
            fetching.add_done_callback(lambda _: stopping.set())
            try:
                yield app
            finally:
                stopping.set()
                # First: no more updates come in (the webhook's server stops listening).
                fetching.cancel()
                await asyncio.gather(fetching, return_exceptions=True)
                await intake.stop(STOP_GRACE)
                await reception.forget_handled()
                await receiving.confirm()
                await app.stop()
            failure = None if fetching.cancelled() else fetching.exception()
            if failure is not None:
                raise failure
    finally:
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


def _receiving(
    app: App, reception: Reception, *, poll_timeout: float, backoff: Backoff
) -> Poller | Webhook:
    """How updates come in, as [telegram] mode says."""
    hook = app.bot_data.settings.webhook
    if hook is None:
        return Poller(app, reception, poll_timeout=poll_timeout, backoff=backoff)

    def server_for(routes: Sequence[web.RouteDef]) -> OpsServer:
        return ops_server(app, hook.listen, routes, max_body=MAX_BODY)

    return Webhook(app, reception, hook, server_for, backoff=backoff)


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
    with stop_on_signals(stop):
        await stop.wait()


@contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set `stop` while inside, start-up included."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
