"""The sending processes of bench/digest.py, one per contender, each started by its parent.

``coopbot`` is the bot as ``coopbot run`` builds it, on the clock of a due reminder; ``stop`` the
same, run until SIGTERM (the ``--stop`` drill); ``ptb`` a bare python-telegram-bot loop on PTB's
default HTTPXRequest and ``ptb-aio`` the same loop on coopbot's aiohttp request class, to tell
the transport's share from the rest. Each prints JSON lines for the parent: its idle memory,
then, once the parent says go, what it sent, in what time, at what peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bots import TOKEN, UNLIMITED, settings_for
from harness import prepare_database
from sqlalchemy import insert
from telegram.error import RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from bot.app import CONNECTION_POOL_SIZE, build_app, digest_engine
from bot.clock import ManualClock
from bot.digest.planning import plan
from bot.digest.sending import fan_out
from bot.digest.sends import in_flight
from bot.knowledge import refresh
from bot.runtime import freeze_heap, open_database, serving, wait_for_stop_signal
from bot.settings import DigestSettings, Limits, Settings
from bot.telegram.transport import AiohttpRequest
from storage.bot_models import Chat, Subscription
from storage.models import Event

BareApp = Application[Any, Any, Any, Any, Any, Any]
# The event starts ten days after this clock's "now"; the bot's clock stands at its 1-hour
# reminder, so each subscriber is due exactly one message (the 7- and 1-day ones are skipped).
STARTS_AT = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
REMINDER_AT = STARTS_AT - timedelta(hours=1)
POLL_TIMEOUT = 1.0
SOURCE_ID = "jinr-2023-10-04-agreement-of-intent"
# Rows per INSERT when seeding the subscribers.
SEED_BATCH = 5_000
# This script, as its parents start it.
SENDERS = Path(__file__)


def _rss_kb(field: str) -> int:
    """A VmRSS/VmHWM line of /proc/self/status, in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> bool:
    """Start VmHWM afresh at the current RSS (Linux 4.0+), so start-up's peak is not counted."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_kb(reset: bool) -> int:
    if reset:
        return _rss_kb("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _say(**values: object) -> None:
    print(json.dumps(values), flush=True)


async def _go() -> None:
    """Until the parent writes a line: it has its clocks and drivers ready."""
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


def _settings(db: str | Path, base_url: str, per_second: int | None) -> Settings:
    """The bot's settings for a sender: L a second (or no limit), and the scheduler's own tick
    out of the way, since the bench calls the two steps of a tick itself."""
    limits = UNLIMITED
    if per_second is not None:
        limits = Limits(per_second=per_second, per_chat_per_second=1, per_group_per_minute=20)
    return replace(
        settings_for(db, base_url),
        limits=limits,
        digest=replace(DigestSettings(), tick=timedelta(days=1)),
    )


async def send_coopbot(base_url: str, db: str | Path, per_second: int | None) -> None:
    """coopbot as `coopbot run` builds it, polling, on the clock of a due reminder."""
    settings = _settings(db, base_url, per_second)
    clock = ManualClock(REMINDER_AT)
    async with open_database(settings) as database:
        app = build_app(settings, database.sessions, clock=clock, poll_timeout=POLL_TIMEOUT)
        async with serving(app, poll_timeout=POLL_TIMEOUT):
            freeze_heap()
            idle = _rss_kb("VmRSS")
            _say(idle_kb=idle)
            await _go()
            reset = _reset_peak()
            data = app.bot_data
            await refresh(data)
            engine = digest_engine(data)
            async with data.sessions.begin() as session:
                await plan(session, engine, now=clock.now())
            started, cpu = time.perf_counter(), time.process_time()
            tally = await fan_out(engine, app.bot)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            peak = _peak_kb(reset)
            _say(sent=tally.sent, failed=tally.failed, elapsed=elapsed, cpu=cpu, peak_kb=peak)
            await wait_for_stop_signal()


async def send_ptb(
    base_url: str, per_second: int, subscribers: int, text: str, *, aiohttp: bool
) -> None:
    """A bare PTB send loop: AIORateLimiter at `per_second`, coopbot's sends in flight."""
    # max_retries: after a 429 the limiter pauses every send and tries again, as coopbot does.
    limiter = AIORateLimiter(overall_max_rate=per_second, overall_time_period=1, max_retries=3)
    builder = ApplicationBuilder().token(TOKEN).base_url(base_url)
    if aiohttp:
        builder = builder.request(AiohttpRequest(CONNECTION_POOL_SIZE))
    else:
        builder = builder.connection_pool_size(CONNECTION_POOL_SIZE)
    app: BareApp = builder.rate_limiter(limiter).updater(None).build()
    chats: asyncio.Queue[int] = asyncio.Queue()
    for chat_id in range(1, subscribers + 1):
        chats.put_nowait(chat_id)
    sent = failed = 0

    async def worker() -> None:
        nonlocal sent, failed
        while not chats.empty():
            chat_id = chats.get_nowait()
            try:
                await app.bot.send_message(chat_id, text, parse_mode="HTML")
            except (RetryAfter, TelegramError):
                failed += 1
            else:
                sent += 1

    async with app:
        _say(idle_kb=_rss_kb("VmRSS"))
        await _go()
        started, cpu = time.perf_counter(), time.process_time()
        sending = in_flight(Limits(per_second=per_second))
        await asyncio.gather(*(worker() for _ in range(sending)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        _say(sent=sent, failed=failed, elapsed=elapsed, cpu=cpu, peak_kb=_peak_kb(False))
        await wait_for_stop_signal()


async def send_until_stopped(base_url: str, db: str | Path, per_second: int) -> None:
    """The fan-out as the tick job runs it, then SIGTERM: the bot's own shutdown, timed."""
    settings = _settings(db, base_url, per_second)
    clock = ManualClock(REMINDER_AT)
    async with open_database(settings) as database:
        app = build_app(settings, database.sessions, clock=clock, poll_timeout=POLL_TIMEOUT)
        async with serving(app, poll_timeout=POLL_TIMEOUT):
            _say(idle_kb=_rss_kb("VmRSS"))
            await _go()
            data = app.bot_data
            await refresh(data)
            engine = digest_engine(data)
            async with data.sessions.begin() as session:
                await plan(session, engine, now=clock.now())
            # As a broadcast runs the tick: Application.stop waits for it.
            sending = app.create_task(fan_out(engine, app.bot), name="fan-out")
            await wait_for_stop_signal()
            signalled = time.perf_counter()
        stopped = time.perf_counter() - signalled
    tally = sending.result()
    _say(sent=tally.sent, stop_seconds=stopped)


# The parent: emulator, database, drivers.


async def seed(db: str | Path, subscribers: int) -> None:
    """A synced database with one event ahead and `subscribers` private chats subscribed to it."""
    await prepare_database(db)
    settings = settings_for(db)
    async with open_database(settings) as database, database.sessions.begin() as session:
        session.add(
            Event(
                id="school",
                title="Summer school on nuclear physics",
                description="Lectures and practice at the INP.",
                place="Almaty",
                zone="Asia/Almaty",
                precision="minute",
                starts_at=STARTS_AT,
                source_id=SOURCE_ID,
                origin="admin",
                created_at=REMINDER_AT - timedelta(days=20),
                updated_at=REMINDER_AT - timedelta(days=20),
            )
        )
        for first in range(1, subscribers + 1, SEED_BATCH):
            ids = range(first, min(first + SEED_BATCH, subscribers + 1))
            chats = [{"id": i, "type": "private", "title": None, "language": "en"} for i in ids]
            await session.execute(insert(Chat), chats)
            rows = [{"chat_id": i, "events": True, "news": False} for i in ids]
            await session.execute(insert(Subscription), rows)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("contender", choices=["coopbot", "stop", "ptb", "ptb-aio"])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--db", help="an SQLite file or a database URL")
    parser.add_argument("--per-second", type=int)
    parser.add_argument("--subscribers", type=int, default=0)
    parser.add_argument("--text", type=Path)
    return parser.parse_args()


if __name__ == "__main__":
    args = parse()
    if args.contender == "coopbot":
        asyncio.run(send_coopbot(args.base_url, args.db, args.per_second))
    elif args.contender == "stop":
        asyncio.run(send_until_stopped(args.base_url, args.db, args.per_second))
    else:
        text = args.text.read_text()
        aiohttp = args.contender == "ptb-aio"
        asyncio.run(
            send_ptb(args.base_url, args.per_second, args.subscribers, text, aiohttp=aiohttp)
        )
