"""Digest fan-out: achieved rate and 429s under a strict limit, peak memory, replies meanwhile.

The emulator enforces a strict sliding window of L sends a second (and Telegram's 1 a second
per chat); coopbot runs with ``[limits] per_second = L`` and sends one due reminder to every
subscriber, planned from the database by the same two steps as ``digest_tick`` (plan, then
``fan_out``). Beside it, in the same run, a bare python-telegram-bot loop sends the same message
to the same number of chats through PTB's AIORateLimiter set to L a second, with coopbot's
sends in flight (8) and connection pool. Each sender runs in a process of its own, as in
``commands.py``; the emulator runs in this one. Then the peak memory of a fan-out with limits
off, over the idle bot's, and the p95 reply time of commands sent while a fan-out runs at L=30.

    .venv/bin/python bench/digest.py            # 1,000 and 10,000 subscribers; 100,000 for memory
    .venv/bin/python bench/digest.py --quick    # 200 and 2,000; 10,000 for memory; ~80 s
    .venv/bin/python bench/digest.py --stop     # SIGTERM mid fan-out: main's code, then this

``--stop`` starts the fan-out of a 2,000-chat reminder at L = 30 in a real bot process (the
JobQueue's way: a task the application waits for when it stops), sends SIGTERM once 200 chats
have it, and measures the time from the signal to the process's exit and the sends that reached
the emulator after it: first with the code of a checkout of ``main`` (``--baseline PATH``, or a
temporary ``git worktree`` of where this branch left main: ``git merge-base HEAD main``), then
with this checkout's.

``python bench/digest.py send coopbot|ptb|ptb-aio ...`` is the sending process; the parent starts
it. ``ptb`` is the bare loop on PTB's default HTTPXRequest, ``ptb-aio`` the same loop on coopbot's
aiohttp request class, to tell the transport's share from the rest.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.util
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bots import TOKEN, UNLIMITED, settings_for
from harness import REPLY_TIMEOUT, START_TIMEOUT, percentile, prepare_database
from sqlalchemy import insert
from telegram.error import RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from bot.app import CONNECTION_POOL_SIZE, build_app, digest_engine
from bot.clock import ManualClock
from bot.digest.planning import plan
from bot.digest.sending import fan_out
from bot.digest.sends import in_flight
from bot.emulator import BotApiEmulator, RateLimits, User
from bot.knowledge import refresh
from bot.runtime import freeze_heap, open_database, polling, wait_for_stop_signal
from bot.settings import DigestSettings, Limits
from bot.telegram.transport import AiohttpRequest
from storage.models import Chat, Event, Subscription

TARGET_RATE = 0.97
TARGET_MEMORY_MB = 60.0
TARGET_P95 = 2.0
SOURCE_ID = "jinr-2023-10-04-agreement-of-intent"
# The event starts ten days after this clock's "now"; the bot's clock stands at its 1-hour
# reminder, so each subscriber is due exactly one message (the 7- and 1-day ones are skipped).
STARTS_AT = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
REMINDER_AT = STARTS_AT - timedelta(hours=1)
# Users who send commands during the fan-out, far from the subscribers' ids.
COMMANDER_FIRST_ID = 900_000
POLL_TIMEOUT = 1.0
# Rows per INSERT when seeding the subscribers.
SEED_BATCH = 5_000
ROOT = Path(__file__).resolve().parent.parent

BareApp = Application[Any, Any, Any, Any, Any, Any]
# The bare send loops: on PTB's default HTTPXRequest, and on coopbot's aiohttp request class.
BARE = ("ptb", "ptb-aio")


# The sending process.


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


async def send_coopbot(base_url: str, db: Path, per_second: int | None) -> None:
    """coopbot as `coopbot run` builds it, polling, on the clock of a due reminder."""
    limits = UNLIMITED
    if per_second is not None:
        limits = Limits(per_second=per_second, per_chat_per_second=1, per_group_per_minute=20)
    settings = replace(
        settings_for(db, base_url),
        limits=limits,
        # The scheduler's own tick stays out of the way: the bench calls the two steps itself.
        digest=replace(DigestSettings(), tick=timedelta(days=1)),
    )
    clock = ManualClock(REMINDER_AT)
    async with open_database(settings) as database:
        app = build_app(settings, database.sessions, clock=clock, poll_timeout=POLL_TIMEOUT)
        async with polling(app, poll_timeout=POLL_TIMEOUT):
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


async def send_until_stopped(base_url: str, db: Path, per_second: int) -> None:
    """The fan-out as the tick job runs it, then SIGTERM: the bot's own shutdown, timed."""
    limits = Limits(per_second=per_second, per_chat_per_second=1, per_group_per_minute=20)
    settings = replace(
        settings_for(db, base_url),
        limits=limits,
        digest=replace(DigestSettings(), tick=timedelta(days=1)),
    )
    clock = ManualClock(REMINDER_AT)
    async with open_database(settings) as database:
        app = build_app(settings, database.sessions, clock=clock, poll_timeout=POLL_TIMEOUT)
        async with polling(app, poll_timeout=POLL_TIMEOUT):
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


async def seed(db: Path, subscribers: int) -> None:
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


@dataclass(frozen=True)
class Run:
    """One sender's fan-out, as the sender and the emulator saw it."""

    contender: str
    per_second: int | None
    subscribers: int
    sent: int
    failed: int
    elapsed: float
    too_many: int
    idle_kb: int
    peak_kb: int
    # The sender's CPU seconds (all its threads) during the fan-out.
    cpu: float
    latencies: list[float]
    text: str

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed

    @property
    def memory_mb(self) -> float:
        """Peak RSS during the fan-out over the idle process's RSS."""
        return (self.peak_kb - self.idle_kb) / 1024


async def fan_out_run(
    contender: str,
    folder: Path,
    *,
    per_second: int | None,
    subscribers: int,
    commands: int = 0,
    text: str = "",
) -> Run:
    """Start the sender against a fresh emulator, fan out, send `commands` meanwhile."""
    db = folder / f"{contender}-{per_second}-{subscribers}-{commands}.db"
    if contender == "coopbot":
        await seed(db, subscribers)
    limits = None
    if per_second is not None:
        limits = RateLimits(
            per_second=per_second, per_chat_per_second=1, per_group_per_minute=None
        )
    async with BotApiEmulator(TOKEN, rate_limits=limits) as emulator:
        for chat_id in range(1, subscribers + 1):
            emulator.user(chat_id, f"User {chat_id}")
        commanders = [
            emulator.user(COMMANDER_FIRST_ID + n, f"Commander {n}") for n in range(commands)
        ]
        args = [__file__, "send", contender, "--base-url", emulator.base_url]
        args += ["--subscribers", str(subscribers)]
        if per_second is not None:
            args += ["--per-second", str(per_second)]
        if contender == "coopbot":
            args += ["--db", str(db)]
        else:
            text_path = folder / "text.html"
            text_path.write_text(text)
            args += ["--text", str(text_path)]
        with _frozen_heap():
            pipe = asyncio.subprocess.PIPE
            process = await asyncio.create_subprocess_exec(
                sys.executable, *args, stdin=pipe, stdout=pipe
            )
            assert process.stdin is not None
            assert process.stdout is not None
            try:
                ready = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
                if not ready:
                    raise RuntimeError(f"{contender} exited before it was ready")
                idle = json.loads(ready)["idle_kb"]
                process.stdin.write(b"go\n")
                await process.stdin.drain()
                # Commands are spread over the fan-out's expected length, after its first second.
                span = 0.9 * subscribers / (per_second or 1000) - 1.0
                latencies, done = await asyncio.gather(
                    _commands(emulator, commanders, span), process.stdout.readline()
                )
                if not done:
                    raise RuntimeError(f"{contender} exited during the fan-out")
                result = json.loads(done)
            finally:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                    await process.wait()
        sent_texts = [c.params.get("text") for c in emulator.calls_to("sendMessage")]
        first = next((t for t in sent_texts if isinstance(t, str)), "")
        return Run(
            contender,
            per_second,
            subscribers,
            sent=result["sent"],
            failed=result["failed"],
            elapsed=result["elapsed"],
            too_many=emulator.stats.too_many_requests,
            idle_kb=idle,
            peak_kb=result["peak_kb"],
            cpu=result["cpu"],
            latencies=latencies,
            text=first,
        )


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    """The emulator's users and chats (10,000 and more) kept out of this process's collector.

    Telegram does not stop for a garbage collection; the emulator did: a full collection here
    held every sender's requests for 80-145 ms a third of the way into each L=1000 run (timed
    once, from the bot's side).
    """
    freeze_heap()
    try:
        yield
    finally:
        gc.unfreeze()


async def _commands(emulator: BotApiEmulator, users: list[User], span: float) -> list[float]:
    """Each user sends /help at an even step across `span` seconds; reply times in seconds."""

    async def one(user: User, delay: float) -> float:
        await asyncio.sleep(delay)
        started = time.perf_counter()
        emulator.send_message(user, user, "/help")
        await emulator.wait_for_message(user, timeout=REPLY_TIMEOUT)
        return time.perf_counter() - started

    step = max(span, 0.0) / max(len(users), 1)
    return list(await asyncio.gather(*(one(u, 1.0 + n * step) for n, u in enumerate(users))))


@dataclass(frozen=True)
class StopRun:
    """One SIGTERM in the middle of a fan-out."""

    code: str
    subscribers: int
    before_signal: int
    after_signal: int
    # From the signal to the fan-out's end and the bot's shutdown, as the bot timed it; and to
    # the process's exit, as this one saw it.
    stop_seconds: float
    exit_seconds: float
    returncode: int | None


async def stop_run(
    code: str, root: Path, folder: Path, *, per_second: int, subscribers: int, signal_at: int
) -> StopRun:
    """The bot on the code at `root`, SIGTERM once `signal_at` chats have the reminder."""
    db = folder / f"stop-{code}.db"
    await seed(db, subscribers)
    limits = RateLimits(per_second=per_second, per_chat_per_second=1, per_group_per_minute=None)
    async with BotApiEmulator(TOKEN, rate_limits=limits) as emulator:
        for chat_id in range(1, subscribers + 1):
            emulator.user(chat_id, f"User {chat_id}")
        args = [__file__, "send", "stop", "--base-url", emulator.base_url, "--db", str(db)]
        args += ["--per-second", str(per_second)]
        pipe = asyncio.subprocess.PIPE
        # PYTHONPATH before site-packages: `bot` and `storage` come from `root`, whichever
        # checkout is installed; bench/ (this script's folder) stays first.
        env = {**os.environ, "PYTHONPATH": str(root)}
        process = await asyncio.create_subprocess_exec(
            sys.executable, *args, stdin=pipe, stdout=pipe, env=env, cwd=root
        )
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            if not await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT):
                raise RuntimeError(f"{code} exited before it was ready")
            process.stdin.write(b"go\n")
            await process.stdin.drain()
            while len(emulator.calls_to("sendMessage")) < signal_at:
                await emulator.wait_for_call(
                    "sendMessage", after=len(emulator.calls), timeout=START_TIMEOUT
                )
            before = len(emulator.calls_to("sendMessage"))
            process.send_signal(signal.SIGTERM)
            signalled = time.perf_counter()
            done = await process.stdout.readline()
            await process.wait()
            exited = time.perf_counter() - signalled
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        result = json.loads(done) if done else {"stop_seconds": math.nan}
        after = len(emulator.calls_to("sendMessage")) - before
    return StopRun(
        code, subscribers, before, after, result["stop_seconds"], exited, process.returncode
    )


@contextlib.contextmanager
def main_checkout(given: Path | None) -> Iterator[Path]:
    """The baseline's code: `given`, or a temporary detached worktree of the commit where this
    branch left main (main itself may have moved on since, with other changes merged)."""
    if given is not None:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="coopbot-bench-main-") as tmp:
        path = Path(tmp) / "main"
        git = ["git", "-C", str(ROOT)]
        base = subprocess.run(
            [*git, "merge-base", "HEAD", "main"], check=True, capture_output=True, text=True
        ).stdout.strip()
        subprocess.run([*git, "worktree", "add", "--detach", str(path), base], check=True)
        try:
            yield path
        finally:
            subprocess.run([*git, "worktree", "remove", "--force", str(path)], check=True)


async def main_stop(subscribers: int, signal_at: int, baseline: Path | None) -> None:
    per_second = 30
    print(
        f"stop: SIGTERM once {signal_at} of {subscribers:,} chats have the reminder, "
        f"L={per_second}; sends in flight at most {in_flight(Limits(per_second=per_second))}",
        flush=True,
    )
    with (
        tempfile.TemporaryDirectory(prefix="coopbot-bench-stop-") as tmp,
        main_checkout(baseline) as main_root,
    ):
        for code, root in (("main", main_root), ("this", ROOT)):
            run = await stop_run(
                code,
                root,
                Path(tmp),
                per_second=per_second,
                subscribers=subscribers,
                signal_at=signal_at,
            )
            print(
                f"  {run.code:5} sent before the signal {run.before_signal:>5}, after it "
                f"{run.after_signal:>5}; signal to fan-out and shutdown done "
                f"{run.stop_seconds:6.2f} s, to exit {run.exit_seconds:6.2f} s "
                f"(exit status {run.returncode})",
                flush=True,
            )


def _verdict(met: bool) -> str:
    return "PASS" if met else "MISS"


def rate_row(run: Run) -> str:
    limit = run.per_second or 0
    return (
        f"  {run.contender:8} L={limit:<5} {run.subscribers:>6} chats  sent {run.sent:>6}  "
        f"lost {run.failed:>4}  {run.elapsed:7.2f} s  {run.rate:7.1f} msg/s "
        f"({run.rate / limit:.3f} L)  429s {run.too_many}  "
        f"sender CPU {run.cpu / run.elapsed:.0%}, {run.cpu / max(run.sent, 1) * 1000:.2f} ms/msg"
    )


@dataclass(frozen=True)
class Sizes:
    small: int
    large: int
    memory: int
    busy: int
    commands: int


async def main(sizes: Sizes, ptb: bool, *, rates_only: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix="coopbot-bench-digest-") as tmp:
        folder = Path(tmp)
        print("rate: emulator strict window of L sends/s and 1/s per chat; one message per chat")
        print(
            "  senders in their own processes; as many sends in flight as coopbot's fan-out "
            f"allows at L: {in_flight(Limits(per_second=30))} at 30, "
            f"{in_flight(Limits(per_second=1000))} at 1000",
            flush=True,
        )
        for per_second, subscribers in ((30, sizes.small), (1000, sizes.large)):
            ours = await fan_out_run(
                "coopbot", folder, per_second=per_second, subscribers=subscribers
            )
            print(rate_row(ours), flush=True)
            met = ours.rate >= TARGET_RATE * per_second and ours.too_many == 0
            if ptb:
                for contender in BARE:
                    bare = await fan_out_run(
                        contender,
                        folder,
                        per_second=per_second,
                        subscribers=subscribers,
                        text=ours.text,
                    )
                    print(rate_row(bare), flush=True)
            else:
                print(f"  ptb      L={per_second:<5} n/a (aiolimiter is not installed)")
            print(
                f"{_verdict(met)} L={per_second}: coopbot {ours.rate / per_second:.3f} L, "
                f"{ours.too_many} 429s (target >= {TARGET_RATE} L and no 429)",
                flush=True,
            )
        if rates_only:
            return
        memory = await fan_out_run("coopbot", folder, per_second=None, subscribers=sizes.memory)
        print(
            f"memory: {memory.subscribers:,} chats, limits off: sent {memory.sent} in "
            f"{memory.elapsed:.1f} s ({memory.rate:.0f} msg/s); idle RSS "
            f"{memory.idle_kb / 1024:.1f} MB, peak {memory.peak_kb / 1024:.1f} MB"
        )
        print(
            f"{_verdict(memory.memory_mb <= TARGET_MEMORY_MB)} memory: peak over idle "
            f"{memory.memory_mb:.1f} MB (target <= {TARGET_MEMORY_MB:.0f} MB)",
            flush=True,
        )
        busy = await fan_out_run(
            "coopbot", folder, per_second=30, subscribers=sizes.busy, commands=sizes.commands
        )
        p50, p95 = percentile(busy.latencies, 50), percentile(busy.latencies, 95)
        print(
            f"replies during a fan-out: {sizes.commands} /help from as many users during "
            f"{busy.subscribers:,} sends at L=30 (sent {busy.sent} at {busy.rate:.1f} msg/s, "
            f"429s {busy.too_many}): p50 {p50:.3f} s, p95 {p95:.3f} s, "
            f"max {max(busy.latencies):.3f} s"
        )
        print(f"{_verdict(p95 <= TARGET_P95)} replies: p95 {p95:.3f} s (target <= {TARGET_P95} s)")


def _has_aiolimiter() -> bool:
    """PTB's AIORateLimiter needs it: python-telegram-bot[rate-limiter]."""
    return importlib.util.find_spec("aiolimiter") is not None


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    send = sub.add_parser("send", help="the sending process (started by the parent)")
    send.add_argument("contender", choices=["coopbot", "stop", *BARE])
    send.add_argument("--base-url", required=True)
    send.add_argument("--db", type=Path)
    send.add_argument("--per-second", type=int)
    send.add_argument("--subscribers", type=int, default=0)
    send.add_argument("--text", type=Path)
    parser.add_argument("--quick", action="store_true", help="small sizes, about 80 s")
    parser.add_argument(
        "--rates", action="store_true", help="the two rate runs only, no memory or replies"
    )
    parser.add_argument(
        "--stop", action="store_true", help="SIGTERM mid fan-out: main's code, then this"
    )
    parser.add_argument(
        "--baseline", type=Path, help="with --stop: a checkout of main (default: a git worktree)"
    )
    return parser.parse_args()


if __name__ == "__main__":
    args = parse()
    if args.command == "send":
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
    elif args.stop:
        if args.quick:
            asyncio.run(main_stop(600, 100, args.baseline))
        else:
            asyncio.run(main_stop(2_000, 200, args.baseline))
    elif args.quick:
        asyncio.run(
            main(Sizes(200, 2_000, 10_000, 150, 10), _has_aiolimiter(), rates_only=args.rates)
        )
    else:
        sizes = Sizes(1_000, 10_000, 100_000, 3_000, 100)
        asyncio.run(main(sizes, _has_aiolimiter(), rates_only=args.rates))
