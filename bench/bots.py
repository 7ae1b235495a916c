"""The contenders, each run in a process of its own against a Bot API emulator's URL.

A bot under measurement gets its own process (and so its own core) because the real Bot API is
another machine: sharing an event loop with the emulator would charge the emulator's work to the
bot. The parent starts this file with the emulator's URL; it prints one JSON line saying the
settings it runs with, polls until SIGTERM, and stops cleanly.

    python bench/bots.py coopbot --base-url URL --db PATH|URL [--pool N] [--concurrent N]
    python bench/bots.py echo --base-url URL --pool N --concurrent N [--aiohttp]
    python bench/bots.py mirror --base-url URL --replies PATH --pool N --concurrent N [--aiohttp]

SIGUSR1 starts cProfile when --profile names a file, so warm-up stays out of the profile.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import signal
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from databases import as_url
from telegram import InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

import bot.app
import bot.telegram.intake
from bot.app import build_app
from bot.logs import Secret
from bot.runtime import freeze_heap, open_database, serving, wait_for_stop_signal
from bot.settings import Limits, Settings
from bot.telegram.transport import AiohttpRequest

TOKEN = "123456789:bench-token-never-real-0123"
# Telegram's limits would cap coopbot at 30 replies/s and 1/s per chat while the bare bots have
# no limiter at all; raised out of reach, the limiter still runs (its dispatcher's cost is
# measured) but shapes nothing. The pacing itself is measured on its own.
UNLIMITED = Limits(per_second=10**6, per_chat_per_second=10**6, per_group_per_minute=10**6)
# Short long polls: under load updates are always waiting, and a short poll stops quickly.
POLL_TIMEOUT = 1.0

BareApp = Application[Any, Any, Any, Any, Any, Any]


def settings_for(db: str | Path, base_url: str = "http://127.0.0.1:9/bot") -> Settings:
    """Settings for a bench database (an SQLite file or a URL); the base URL only matters to a
    running bot."""
    return Settings(
        token=Secret(TOKEN),
        base_url=base_url,
        base_file_url=base_url.replace("/bot", "/file/bot"),
        storage_url=as_url(db),
        limits=UNLIMITED,
    )


async def run_coopbot(
    base_url: str, db: str, pool: int | None, concurrent: int | None, profiler: Profiler
) -> None:
    """The real bot as `coopbot run` builds it, on an already synced database."""
    settings = settings_for(db, base_url)
    # build_app and ChatOrder look both names up at call time, so replacing them here tries
    # other settings on the unchanged bot.
    if pool is not None:
        bot.app.CONNECTION_POOL_SIZE = pool
    if concurrent is not None:
        bot.telegram.intake.CONCURRENT_UPDATES = concurrent
    async with open_database(settings) as database:
        app = build_app(settings, database.sessions, poll_timeout=POLL_TIMEOUT)
        async with serving(app, poll_timeout=POLL_TIMEOUT):
            freeze_heap()
            _announce(
                "coopbot", bot.app.CONNECTION_POOL_SIZE, bot.telegram.intake.CONCURRENT_UPDATES
            )
            await profiler.until_stopped()


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the message's own text: the least work a bot can do per update."""
    message = update.effective_message
    if message is not None and message.text is not None:
        await message.reply_text(message.text)


async def run_echo(base_url: str, transport: Bare, profiler: Profiler) -> None:
    """A bare PTB bot with the same transport settings coopbot uses."""
    app = _bare_app(base_url, transport)
    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with _polling(app):
        _announce("echo", transport.pool, app.concurrent_updates)
        await profiler.until_stopped()


@dataclass(frozen=True)
class Reply:
    """One message coopbot sent, as the mirror sends it again."""

    html: str
    parse_mode: str | None
    link_preview_options: LinkPreviewOptions | None
    keyboard: InlineKeyboardMarkup | None


# What the mirror can send again; coopbot sending anything else should stop the bench, since
# the two would no longer put the same bytes on the wire.
MIRRORED_PARAMS = frozenset({"text", "parse_mode", "link_preview_options", "reply_markup"})


def load_replies(path: Path) -> dict[str, list[Reply]]:
    """The table the parent recorded: each text, and the sendMessage parameters of each reply."""
    table: dict[str, list[dict[str, Any]]] = json.loads(path.read_text())
    replies: dict[str, list[Reply]] = {}
    for text, sent in table.items():
        replies[text] = []
        for params in sent:
            unknown = set(params) - MIRRORED_PARAMS
            if unknown:
                raise SystemExit(f"coopbot sent {sorted(unknown)} for {text!r}; mirror can't")
            preview, markup = params.get("link_preview_options"), params.get("reply_markup")
            reply = Reply(
                html=params["text"],
                parse_mode=params.get("parse_mode"),
                link_preview_options=LinkPreviewOptions.de_json(preview) if preview else None,
                keyboard=InlineKeyboardMarkup.de_json(markup) if markup else None,
            )
            replies[text].append(reply)
    return replies


Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


def mirror(replies: Mapping[str, Sequence[Reply]]) -> Callback:
    """A callback that answers each text with what coopbot sent for it, message by message."""

    async def send_recorded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or message.text is None:
            return
        for reply in replies[message.text]:
            await context.bot.send_message(
                message.chat_id,
                reply.html,
                parse_mode=reply.parse_mode,
                link_preview_options=reply.link_preview_options,
                reply_markup=reply.keyboard,
            )

    return send_recorded


async def run_mirror(base_url: str, replies: Path, transport: Bare, profiler: Profiler) -> None:
    """The echo bot's set-up, answering with coopbot's own messages instead of the text."""
    app = _bare_app(base_url, transport)
    app.add_handler(MessageHandler(filters.TEXT, mirror(load_replies(replies))))
    async with _polling(app):
        _announce("mirror", transport.pool, app.concurrent_updates)
        await profiler.until_stopped()


@dataclass(frozen=True)
class Bare:
    """How a bare bot talks to the Bot API: coopbot's pool and concurrency, and which client."""

    pool: int
    concurrent: int
    # PTB's own HTTPXRequest, as a bare bot has it; or coopbot's aiohttp one, for comparison.
    aiohttp: bool = False


def _bare_app(base_url: str, transport: Bare) -> BareApp:
    """A plain PTB application: no defaults, no context types, coopbot's transport settings."""
    builder = ApplicationBuilder().token(TOKEN).base_url(base_url)
    if transport.aiohttp:
        builder = builder.request(AiohttpRequest(transport.pool)).get_updates_request(
            AiohttpRequest(1, read_timeout=POLL_TIMEOUT + 5)
        )
    else:
        builder = builder.connection_pool_size(transport.pool)
        builder = builder.get_updates_read_timeout(POLL_TIMEOUT + 5)
    app: BareApp = builder.concurrent_updates(transport.concurrent).build()
    return app


@asynccontextmanager
async def _polling(app: BareApp) -> AsyncIterator[None]:
    """What bot.runtime.serving does, for an application without coopbot's context types."""
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=int(POLL_TIMEOUT), poll_interval=0)
        try:
            yield
        finally:
            await app.updater.stop()
            await app.stop()


def _announce(contender: str, pool: int, concurrent: int) -> None:
    settings = {"contender": contender, "pool": pool, "concurrent": concurrent}
    print(json.dumps(settings), flush=True)


class Profiler:
    """cProfile from SIGUSR1 to the stop signal, written to a file; does nothing without one."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.profile = cProfile.Profile() if path else None

    async def until_stopped(self) -> None:
        loop = asyncio.get_running_loop()
        if self.profile is not None:
            loop.add_signal_handler(signal.SIGUSR1, self.profile.enable)
        await wait_for_stop_signal()
        if self.profile is not None and self.path is not None:
            self.profile.disable()
            self.profile.dump_stats(self.path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("contender", choices=["coopbot", "echo", "mirror"])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--db", help="synced SQLite file or database URL (coopbot only)")
    parser.add_argument("--replies", type=Path, help="JSON table of coopbot's replies (mirror)")
    parser.add_argument("--pool", type=int, help="connection pool size (default: coopbot's)")
    parser.add_argument("--concurrent", type=int, help="concurrent updates (default: coopbot's)")
    parser.add_argument("--profile", type=Path, help="write cProfile stats here")
    parser.add_argument(
        "--aiohttp", action="store_true", help="bare bots on coopbot's aiohttp request class"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="bot: %(levelname)s %(name)s: %(message)s")
    profiler = Profiler(args.profile)
    if args.contender == "coopbot":
        if args.db is None:
            parser.error("coopbot needs --db")
        coro = run_coopbot(args.base_url, args.db, args.pool, args.concurrent, profiler)
    elif args.pool is None or args.concurrent is None:
        parser.error(f"{args.contender} needs --pool and --concurrent: what coopbot announced")
    elif args.contender == "mirror":
        if args.replies is None:
            parser.error("mirror needs --replies")
        transport = Bare(args.pool, args.concurrent, args.aiohttp)
        coro = run_mirror(args.base_url, args.replies, transport, profiler)
    else:
        coro = run_echo(args.base_url, Bare(args.pool, args.concurrent, args.aiohttp), profiler)
    asyncio.run(coro)


if __name__ == "__main__":
    main()
