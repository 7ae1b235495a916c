"""SIGTERM in the middle of a fan-out: how soon the bot is gone, and what it sent after.

Started by ``bench/digest.py --stop``: a 2,000-chat reminder at L = 30 in a real bot process
(bench/digest_senders.py ``stop``), SIGTERM once 200 chats have it, first on the code of a
checkout of ``main`` (``--baseline PATH``, or a temporary ``git worktree`` of where this branch
left main: ``git merge-base HEAD main``), then on this checkout's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bots import TOKEN
from digest_senders import seed
from harness import START_TIMEOUT

from bot.digest.sends import in_flight
from bot.emulator import BotApiEmulator, RateLimits
from bot.settings import Limits

ROOT = Path(__file__).resolve().parent.parent


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
        args = [*_sender(root), "stop", "--base-url", emulator.base_url, "--db", str(db)]
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


def _sender(root: Path) -> list[str]:
    """The sending process of the checkout at `root`: each code runs with its own."""
    senders = root / "bench" / "digest_senders.py"
    if senders.exists():
        return [str(senders)]
    # A checkout from before the senders had a file of their own.
    return [str(root / "bench" / "digest.py"), "send"]


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
