"""A bystander's reply latency while one private chat and one group each have a deep backlog.

Each contender is a real `coopbot run` (its own process, Telegram's default limits: one message
a second to a chat, twenty a minute to a group) against the emulator: this checkout, and the
code of a git ref (main by default) exported beside it, so both run in one sitting on one
machine. Idle: bystanders send /help one after another, each a user of their own (a user's own
pace would otherwise be measured). Loaded: the same, after one user and one group have each
queued 40 commands. Latency is from the moment the /help is queued to the moment the reply is
recorded (harness.py).

    python bench/bystander.py [--baseline main] [--bystanders 10] [--depth 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bots import TOKEN
from harness import START_TIMEOUT, percentile

from bot.emulator import BotApiEmulator, User

HERE = Path(__file__).resolve().parent.parent
# Far past any stop the bot means to take; the old code drains its whole backlog first.
STOP_TIMEOUT = 10.0
# Long enough for the old code, whose bystander waited for most of a group's backlog (20 a
# minute) to drain.
REPLY_TIMEOUT = 300.0
# The target: a bystander's loaded p95 within this many seconds of its idle one.
TARGET = 1.0


@asynccontextmanager
async def coopbot_run(root: Path, emulator: BotApiEmulator, folder: Path) -> AsyncIterator[None]:
    """`coopbot run` on the code in `root`, polling `emulator`, until the block ends."""
    config = write_config(folder, emulator.base_url)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        "--config",
        str(config),
        cwd=root,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(root), "COOPBOT_TOKEN": TOKEN},
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await emulator.wait_for_call("getUpdates", timeout=START_TIMEOUT)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()


def write_config(folder: Path, base_url: str) -> Path:
    """A config in a new `folder`, the database beside it."""
    folder.mkdir()
    config = folder / "coopbot.toml"
    config.write_text(
        f'[telegram]\nbase_url = "{base_url}"\n'
        f'[storage]\nurl = "sqlite+aiosqlite:///{folder}/coopbot.db"\n'
        '[logging]\nlevel = "WARNING"\n',
        "utf-8",
    )
    return config


async def bystanders(emulator: BotApiEmulator, users: list[User]) -> list[float]:
    """Each user's /help, one after another: seconds from queued to answered."""
    latencies = []
    for user in users:
        started = time.perf_counter()
        emulator.send_message(user, user, "/help")
        await emulator.wait_for_message(user, timeout=REPLY_TIMEOUT)
        latencies.append(time.perf_counter() - started)
    return latencies


async def measure(
    root: Path, folder: Path, *, loaded: bool, count: int, depth: int
) -> list[float]:
    async with BotApiEmulator(TOKEN) as emulator, coopbot_run(root, emulator, folder):
        warm = emulator.user(10, "Warm-up")
        emulator.send_message(warm, warm, "/help")
        await emulator.wait_for_message(warm, timeout=START_TIMEOUT)
        if loaded:
            busy = emulator.user(20, "Busy")
            member = emulator.user(21, "Member")
            group = emulator.group(-30, "Busy group")
            for _ in range(depth):
                emulator.send_message(busy, busy, "/about")
                emulator.send_message(group, member, "/about")
            # Both backlogs are in hand once each has had its first answer.
            await emulator.wait_for_message(busy, timeout=REPLY_TIMEOUT)
            await emulator.wait_for_message(group, timeout=REPLY_TIMEOUT)
        users = [emulator.user(100 + n, f"Bystander {n}") for n in range(count)]
        return await bystanders(emulator, users)


def export(ref: str, folder: Path) -> Path:
    """The code of `ref`, as `git archive` gives it."""
    folder.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(HERE), "archive", ref], check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def line(name: str, latencies: list[float]) -> str:
    p50, p95 = percentile(latencies, 50) * 1000, percentile(latencies, 95) * 1000
    return (
        f"{name:<28} p50 {p50:8.0f} ms   p95 {p95:8.0f} ms   max {max(latencies) * 1000:8.0f} ms"
    )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="coopbot-bystander-") as tmp:
        folder = Path(tmp)
        contenders = {f"{args.baseline} (before)": export(args.baseline, folder / "baseline")}
        contenders["this checkout"] = HERE
        print(
            f"{args.bystanders} bystanders' /help one after another; loaded: one user and one "
            f"group have each queued {args.depth} /about first; Telegram's default limits"
        )
        p95: dict[tuple[str, bool], float] = {}
        for name, root in contenders.items():
            for loaded in (False, True):
                label = f"{name}, {'loaded' if loaded else 'idle'}"
                runs = folder / f"{label.replace(' ', '-').replace(',', '')}"
                latencies = await measure(
                    root, runs, loaded=loaded, count=args.bystanders, depth=args.depth
                )
                p95[name, loaded] = percentile(latencies, 95)
                print(line(label, latencies), flush=True)
        gap = p95["this checkout", True] - p95["this checkout", False]
        verdict = "PASS" if gap <= TARGET else "MISS"
        print(f"{verdict}: loaded p95 is {gap * 1000:.0f} ms over idle (target: within 1 s)")


def parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="main", help="the git ref to compare with")
    parser.add_argument("--bystanders", type=int, default=10)
    parser.add_argument("--depth", type=int, default=40, help="commands queued by each busy chat")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse_options()))
