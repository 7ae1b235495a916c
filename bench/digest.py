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
    .venv/bin/python bench/digest.py --quick --postgresql URL   # SQLite, then PostgreSQL

``--stop`` starts the fan-out of a 2,000-chat reminder at L = 30 in a real bot process (the
JobQueue's way: a task the application waits for when it stops), sends SIGTERM once 200 chats
have it, and measures the time from the signal to the process's exit and the sends that reached
the emulator after it: first with the code of a checkout of ``main`` (``--baseline PATH``, or a
temporary ``git worktree`` of where this branch left main: ``git merge-base HEAD main``), then
with this checkout's.

``bench/digest_senders.py coopbot|stop|ptb|ptb-aio ...`` is the sending process; the parent
starts it; ``--stop`` is bench/digest_stop.py's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.util
import json
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import databases
from bots import TOKEN
from databases import Databases
from digest_senders import SENDERS, seed
from digest_stop import main_stop
from harness import REPLY_TIMEOUT, START_TIMEOUT, percentile
from telegram.ext import Application

from bot.digest.sends import in_flight
from bot.emulator import BotApiEmulator, RateLimits, User
from bot.runtime import freeze_heap
from bot.settings import Limits

TARGET_RATE = 0.97
TARGET_MEMORY_MB = 60.0
TARGET_P95 = 2.0
# Users who send commands during the fan-out, far from the subscribers' ids.
COMMANDER_FIRST_ID = 900_000
ROOT = Path(__file__).resolve().parent.parent

BareApp = Application[Any, Any, Any, Any, Any, Any]
# The bare send loops: on PTB's default HTTPXRequest, and on coopbot's aiohttp request class.
BARE = ("ptb", "ptb-aio")


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
    dbs: Databases,
    *,
    per_second: int | None,
    subscribers: int,
    commands: int = 0,
    text: str = "",
) -> Run:
    """Start the sender against a fresh emulator, fan out, send `commands` meanwhile."""
    folder = dbs.folder
    db = ""
    if contender == "coopbot":
        db = dbs.new(f"{contender}-{per_second}-{subscribers}-{commands}")
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
        args = [str(SENDERS), contender, "--base-url", emulator.base_url]
        args += ["--subscribers", str(subscribers)]
        if per_second is not None:
            args += ["--per-second", str(per_second)]
        if contender == "coopbot":
            args += ["--db", db]
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


async def measure(
    sizes: Sizes, ptb: bool, dbs: Databases, *, rates_only: bool = False
) -> list[tuple[str, str]]:
    """The rate runs, then memory and replies meanwhile, printed; the headline figures."""
    figures: list[tuple[str, str]] = []
    print("rate: emulator strict window of L sends/s and 1/s per chat; one message per chat")
    print(
        "  senders in their own processes; as many sends in flight as coopbot's fan-out "
        f"allows at L: {in_flight(Limits(per_second=30))} at 30, "
        f"{in_flight(Limits(per_second=1000))} at 1000",
        flush=True,
    )
    for per_second, subscribers in ((30, sizes.small), (1000, sizes.large)):
        ours = await fan_out_run("coopbot", dbs, per_second=per_second, subscribers=subscribers)
        print(rate_row(ours), flush=True)
        figures += rate_figures(ours)
        met = ours.rate >= TARGET_RATE * per_second and ours.too_many == 0
        if ptb:
            for contender in BARE:
                bare = await fan_out_run(
                    contender,
                    dbs,
                    per_second=per_second,
                    subscribers=subscribers,
                    text=ours.text,
                )
                print(rate_row(bare), flush=True)
        else:
            why = "aiolimiter is not installed" if dbs.is_sqlite else "no database: beside SQLite"
            print(f"  ptb      L={per_second:<5} n/a ({why})")
        print(
            f"{_verdict(met)} L={per_second}: coopbot {ours.rate / per_second:.3f} L, "
            f"{ours.too_many} 429s (target >= {TARGET_RATE} L and no 429)",
            flush=True,
        )
    if rates_only:
        return figures
    memory = await fan_out_run("coopbot", dbs, per_second=None, subscribers=sizes.memory)
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
        "coopbot", dbs, per_second=30, subscribers=sizes.busy, commands=sizes.commands
    )
    p50, p95 = percentile(busy.latencies, 50), percentile(busy.latencies, 95)
    print(
        f"replies during a fan-out: {sizes.commands} /help from as many users during "
        f"{busy.subscribers:,} sends at L=30 (sent {busy.sent} at {busy.rate:.1f} msg/s, "
        f"429s {busy.too_many}): p50 {p50:.3f} s, p95 {p95:.3f} s, "
        f"max {max(busy.latencies):.3f} s"
    )
    print(f"{_verdict(p95 <= TARGET_P95)} replies: p95 {p95:.3f} s (target <= {TARGET_P95} s)")
    figures += [
        (f"memory: {memory.subscribers:,} chats, msg/s", f"{memory.rate:.0f}"),
        ("memory: peak over idle, MB", f"{memory.memory_mb:.1f}"),
        ("replies during a fan-out: p50 / p95 s", f"{p50:.3f} / {p95:.3f}"),
    ]
    return figures


def rate_figures(run: Run) -> list[tuple[str, str]]:
    """A coopbot rate run's figures for the side-by-side table."""
    name = f"L={run.per_second}, {run.subscribers:,} chats"
    return [
        (f"{name}: rate", f"{run.rate / (run.per_second or 1):.3f} L"),
        (f"{name}: 429s, lost", f"{run.too_many}, {run.failed}"),
        (f"{name}: sender CPU ms/msg", f"{run.cpu / max(run.sent, 1) * 1000:.2f}"),
    ]


async def main(
    sizes: Sizes, ptb: bool, *, rates_only: bool = False, postgresql: str | None = None
) -> None:
    """measure on SQLite and, given a server, on PostgreSQL; then the two side by side.
    The bare PTB loops touch no database, so they run beside SQLite only."""
    kinds = databases.kinds(postgresql)
    runs: list[list[tuple[str, str]]] = []
    for server in kinds:
        with (
            tempfile.TemporaryDirectory(prefix="coopbot-bench-digest-") as tmp,
            databases.databases(Path(tmp), server) as dbs,
        ):
            if len(kinds) > 1:
                print(f"\n== coopbot on {dbs.kind} ==")
            bare = ptb and dbs.is_sqlite
            runs.append(await measure(sizes, bare, dbs, rates_only=rates_only))
    if len(kinds) > 1:
        names = [databases.SQLITE, databases.POSTGRESQL]
        rows = [(label, [dict(run)[label] for run in runs]) for label, _ in runs[0]]
        print("\n" + databases.side_by_side("digest, side by side:", rows, names))


def _has_aiolimiter() -> bool:
    """PTB's AIORateLimiter needs it: python-telegram-bot[rate-limiter]."""
    return importlib.util.find_spec("aiolimiter") is not None


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, about 80 s")
    parser.add_argument(
        "--rates", action="store_true", help="the two rate runs only, no memory or replies"
    )
    parser.add_argument(
        "--stop", action="store_true", help="SIGTERM mid fan-out: main's code, then this"
    )
    parser.add_argument("--postgresql", metavar="URL", help=databases.POSTGRESQL_OPTION)
    parser.add_argument(
        "--baseline", type=Path, help="with --stop: a checkout of main (default: a git worktree)"
    )
    return parser.parse_args()


if __name__ == "__main__":
    args = parse()
    if args.stop:
        if args.quick:
            asyncio.run(main_stop(600, 100, args.baseline))
        else:
            asyncio.run(main_stop(2_000, 200, args.baseline))
    elif args.quick:
        sizes = Sizes(200, 2_000, 10_000, 150, 10)
    else:
        sizes = Sizes(1_000, 10_000, 100_000, 3_000, 100)
    if not args.stop:
        ptb = _has_aiolimiter()
        asyncio.run(main(sizes, ptb, rates_only=args.rates, postgresql=args.postgresql))
