"""The one place that builds the application and knows every handler module."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults, JobQueue, TypeHandler

from bot import logs
from bot.clock import Clock, SystemClock
from bot.context import App, BotData, Context, UserData
from bot.digest.engine import Engine
from bot.digest.ticker import Ticker
from bot.knowledge import keep_knowledge_fresh, refresh
from bot.ops import health
from bot.ops.listen import Listen
from bot.ops.metrics import Metrics
from bot.ops.observe import time_handlers
from bot.ops.server import CannotListen, OpsServer
from bot.reader.preferences import Preferences
from bot.settings import Settings
from bot.telegram import sightings
from bot.telegram.courier import Courier
from bot.telegram.menus import languages, menus
from bot.telegram.pacing import SmoothRateLimiter
from bot.telegram.polling import READ_SLACK, Unrecoverable
from bot.telegram.search_memory import RecentSearches
from bot.telegram.transport import AiohttpRequest
from handlers import (
    about,
    admin,
    admin_deletion,
    admin_events,
    admin_facts,
    admin_history,
    admin_oversight,
    admin_sources,
    admin_translations,
    admin_week,
    broadcast,
    calendar_files,
    chats,
    digest,
    errors,
    events,
    facilities,
    facts,
    fallback,
    people,
    preferences,
    search,
    start,
    subscriptions,
    timeline,
    update_kinds,
)
from storage.changes import ChangeWatch
from storage.chats import Preference, Sighting
from storage.knowledge import Knowledge
from storage.search import SearchIndex

# Few connections: updates handled at once (8) and a digest's sends share them, and the pacing lets
# no more sends go at once than there are (bot/telegram/pacing.py): 8 carry 1,000 messages a second
# at an 8 ms round trip, and 80 a second at a 100 ms one, well over Telegram's 30. A request that
# finds them all busy waits up to POOL_TIMEOUT (PTB's default of 1 s would fail it when Telegram is
# slow).
CONNECTION_POOL_SIZE = 8
POOL_TIMEOUT = 10.0


def build_app(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    *,
    clock: Clock | None = None,
    poll_timeout: float = 10.0,
    read_timeout: float = 5.0,
) -> App:
    """The configured application, with every feature registered in order; `read_timeout`
    bounds each wait for the Bot API's answer to a request."""
    stopping = asyncio.Event()
    clock = clock or SystemClock()
    metrics = Metrics(clock)
    courier = Courier(
        settings.require_token(),
        base_url=settings.base_url,
        base_file_url=settings.base_file_url,
        request=AiohttpRequest(
            CONNECTION_POOL_SIZE,
            read_timeout=read_timeout,
            pool_timeout=POOL_TIMEOUT,
            observe=metrics.answered,
        ),
        # Its own connection: a long poll must not hold one that replies need.
        get_updates_request=AiohttpRequest(
            1, read_timeout=poll_timeout + READ_SLACK, observe=metrics.answered
        ),
        defaults=Defaults(
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            tzinfo=settings.zone,
        ),
        rate_limiter=SmoothRateLimiter(settings.limits, connections=CONNECTION_POOL_SIZE),
        stopping=stopping,
    )
    app: App = (
        ApplicationBuilder()
        .bot(courier)
        .context_types(ContextTypes(context=Context, bot_data=BotData, user_data=UserData))
        .job_queue(JobQueue[Context]())
        # Updates are fetched and handed out by bot.telegram.polling and bot.telegram.intake,
        # not PTB's Updater.
        .updater(None)
        .post_init(prepare)
        .post_shutdown(finish)
        .build()
    )
    data = app.bot_data
    data.settings = settings
    data.sessions = sessions
    data.clock = clock
    data.metrics = metrics
    data.ops_server = None
    data.chats_seen = {}
    data.admin_names = {}
    data.errors_reported_at = None
    data.errors_unreported = 0
    data.chats_unsaved = {}
    data.stopping = stopping
    data.recent_searches = RecentSearches()
    data.preferences = Preferences()
    data.knowledge = Knowledge()
    data.knowledge_revision = -1
    data.changes = ChangeWatch(settings.storage_url)
    # The digest engine (bot/digest/): the ticker wakes it on the job queue; each tick plans what
    # fell due into the ledger (planning.py), in the words of words.py, and sends it (sending.py).
    data.ticker = Ticker(digest_engine(data))

    # Group -3: an edit, a channel post or any other kind the bot did not ask for goes no further.
    update_kinds.register(app)
    # Group -100, before all: every line logged for an update names it (bot/logs.py).
    app.add_handler(TypeHandler(Update, name_update_in_logs), group=-100)
    # Group -2: the knowledge is current before anything else looks at it.
    app.add_handler(TypeHandler(Update, keep_knowledge_fresh), group=-2)

    chats.register(app)
    # Feature modules come before start: their deep-link /start handlers must see /start first.
    about.register(app)
    facilities.register(app)
    facts.register(app)
    events.register(app)
    calendar_files.register(app)
    timeline.register(app)
    people.register(app)
    preferences.register(app)
    subscriptions.register(app)
    # /digest, and the digest tick on the job queue.
    digest.register(app)
    # Admin features, each behind the gate (bot.curation.admins.admin_only), which refuses
    # everyone else.
    admin_facts.register(app)
    admin_deletion.register(app)
    admin_sources.register(app)
    admin_events.register(app)
    # After /addfact's conversation: while a fact draft waits for a typed answer, the text is its.
    admin_translations.register(app)
    admin_history.register(app)
    admin_oversight.register(app)
    broadcast.register(app)
    admin_week.register(app)
    # Search takes every plain text in a private chat: after the admin conversations that read
    # typed answers (a fact's title, its text ...), so that their steps get them first.
    search.register(app)
    admin.register_before_public(app)
    start.register(app)
    # Last, so that it only sees what no feature took.
    fallback.register(app)
    errors.register(app)
    # Once every handler is in: each one's callback counted and timed, under its name.
    for group in app.handlers.values():
        time_handlers(group, metrics)
    return app


async def name_update_in_logs(update: Update, _: Context) -> None:
    logs.UPDATE_ID.set(update.update_id)


def digest_engine(data: BotData) -> Engine:
    """What the digest engine gets of the bot's state: the settings as they are now, the
    knowledge and the chats noted through ``data``, as they change."""
    return Engine(
        sessions=data.sessions,
        clock=data.clock,
        settings=data.settings.digest,
        limits=data.settings.limits,
        zone=data.settings.zone,
        stopping=data.stopping,
        knowledge=lambda: data.knowledge,
        revision=lambda: data.knowledge_revision,
        refresh=lambda: refresh(data),
        save_sightings=lambda: sightings.save(data),
        ticked=data.metrics.ticked,
        delivered=data.metrics.delivered,
    )


async def prepare(app: App) -> None:
    """Before the first update: read the knowledge, open the index, publish the command menu;
    serve health and metrics if [ops] listen says where."""
    await start_ops_server(app)
    # Listening before the first read: a commit between the two is noticed, not missed.
    await app.bot_data.changes.start()
    await refresh(app.bot_data, force=True)
    await sightings.load_admin_names(app.bot_data)
    await app.bot_data.preferences.load(app.bot_data.sessions)
    await channel_preference(app.bot_data)
    app.bot_data.search_index = await SearchIndex.open(app.bot_data.settings.storage_url)
    await publish_commands(app)
    await admin.publish_admin_menus(app)


async def channel_preference(data: BotData) -> None:
    """The digest channel's language and zone, as the config sets them."""
    digest = data.settings.digest
    if digest.channel_id is None or (digest.channel_language, digest.channel_zone) == (None, None):
        return
    current = data.preferences.of(digest.channel_id)
    chosen = Preference(
        language=digest.channel_language or current.language,
        zone=digest.channel_zone.key if digest.channel_zone else current.zone,
    )
    if chosen != current:
        seen = Sighting(
            chat_id=digest.channel_id,
            type="channel",
            title=None,
            language=chosen.language,
            at=data.clock.now(),
        )
        await data.preferences.choose(data.sessions, seen, chosen)


async def start_ops_server(app: App) -> None:
    """/healthz, /readyz and /metrics on [ops] listen, if it is set (polling mode: in webhook
    mode they are on the webhook's server, which bot.runtime starts)."""
    listen = app.bot_data.settings.ops_listen
    if listen is None or app.bot_data.settings.webhook is not None:
        return
    server = ops_server(app, listen)
    try:
        await server.start()
    except CannotListen as error:
        raise Unrecoverable(
            f"ops.listen: {error}; choose a free port, or this machine's address, in [ops] listen"
        ) from None
    app.bot_data.ops_server = server


def ops_server(
    app: App, listen: Listen, routes: Sequence[web.RouteDef] = (), *, max_body: int = 1024**2
) -> OpsServer:
    """The health and metrics server on `listen` (not started), with `routes` beside them."""
    data = app.bot_data
    limiter = app.bot.rate_limiter

    def waiting() -> int:
        return limiter.waiting if isinstance(limiter, SmoothRateLimiter) else 0

    return OpsServer(
        listen,
        failed=lambda: health.failed_checks(data),
        metrics=lambda: health.scrape(data, waiting),
        routes=routes,
        max_body=max_body,
    )


async def finish(app: App) -> None:
    """After the last update: stop serving health, write what is still in memory, let go of
    the database."""
    if app.bot_data.ops_server is not None:
        await app.bot_data.ops_server.stop()
    await sightings.save(app.bot_data)
    await app.bot_data.changes.close()
    if hasattr(app.bot_data, "search_index"):  # absent if the start failed before opening it
        await app.bot_data.search_index.close()


async def publish_commands(app: App) -> None:
    """Put the command menu in Telegram's / list, and the bot's description (shown before a
    chat starts) and short description (its profile), in every language we have."""
    for language, commands in menus().items():
        await app.bot.set_my_commands(commands, language_code=language)
    for language, t in languages().items():
        await app.bot.set_my_description(t("bot.description"), language_code=language)
        await app.bot.set_my_short_description(t("bot.short_description"), language_code=language)
