"""The crash drill: a real ``coopbot run`` killed with SIGKILL in the middle of a fan-out, then
started again on the same database, misses no subscriber and repeats at most the sends that
were in flight when it died.

The bot decides what is due from the wall clock, so the event is placed relative to now: the
1-day reminder became due a few minutes ago. The pace is set so that the fan-out takes a few
seconds, long enough to kill it half-way; every wait is on an emulator event, with a timeout.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.emulator import BotApiEmulator
from bot.fanout import IN_FLIGHT
from bot.runtime import open_database, sync
from bot.settings import load_settings
from storage.models import Chat, Event, Subscription
from tests.conftest import TEST_TOKEN

SUBSCRIBERS = 300
FIRST_CHAT = 1_000
TITLE = "Crash drill colloquium"
# A deadline for each wait: start-up (imports, migrations, content) comes before the first send.
TIMEOUT = 30.0


def config(tmp_path: Path, base_url: str) -> Path:
    """Ticks every second; 100 sends a second, so 300 subscribers take about three seconds."""
    path = tmp_path / "coopbot.toml"
    path.write_text(
        f'[telegram]\nbase_url = "{base_url}"\n'
        f'[storage]\nurl = "sqlite+aiosqlite:///{tmp_path}/data/coopbot.db"\n'
        '[digest]\ntick = "1s"\n'
        "[limits]\nper_second = 100\n",
        "utf-8",
    )
    return path


async def prepare(settings_path: Path, emulator: BotApiEmulator) -> None:
    """The synced database, the subscribers, and an event whose 1-day reminder is due now."""
    settings = load_settings(settings_path, env={"COOPBOT_TOKEN": TEST_TOKEN})
    async with open_database(settings) as database:
        await sync(settings, database.sessions)
        async with database.sessions.begin() as session:
            for chat_id in range(FIRST_CHAT, FIRST_CHAT + SUBSCRIBERS):
                emulator.user(chat_id, f"User {chat_id}")
                session.add(Chat(id=chat_id, type="private", title=None, language="en"))
            await session.flush()
            for chat_id in range(FIRST_CHAT, FIRST_CHAT + SUBSCRIBERS):
                session.add(Subscription(chat_id=chat_id, events=True, news=False))
            session.add(
                Event(
                    id="drill",
                    title=TITLE,
                    description="A talk that must reach everyone once.",
                    place="Almaty",
                    zone="Asia/Almaty",
                    precision="minute",
                    starts_at=datetime.now(UTC) + timedelta(days=1, minutes=-5),
                    source_id="jinr-2023-10-04-agreement-of-intent",
                    origin="admin",
                )
            )


async def start_bot(settings_path: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as stderr:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            "--config",
            str(settings_path),
            cwd=settings_path.parent,
            env={"PATH": os.environ.get("PATH", ""), "COOPBOT_TOKEN": TEST_TOKEN},
            stderr=stderr,
        )


def reminders(emulator: BotApiEmulator) -> Counter[int]:
    """How many times each chat was sent the drill's reminder (requests that reached us)."""
    return Counter(
        int(str(call.params["chat_id"]))
        for call in emulator.calls_to("sendMessage")
        if TITLE in str(call.params.get("text", ""))
    )


async def wait_until_reached(emulator: BotApiEmulator, chats: int) -> None:
    """Until at least `chats` subscribers have been sent the reminder."""
    async with asyncio.timeout(TIMEOUT):
        while len(reminders(emulator)) < chats:
            await emulator.wait_for_call("sendMessage", after=len(emulator.calls), timeout=TIMEOUT)


def ledger(database: Path) -> Counter[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT deliveries.status FROM deliveries "
            "JOIN digests ON digests.id = deliveries.digest_id "
            "WHERE digests.event_id = 'drill' AND digests.kind = 'reminder'"
        ).fetchall()
    return Counter(status for (status,) in rows)


async def test_kill_mid_fanout_and_restart_miss_nobody_and_repeat_only_sends_in_flight(
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    log = tmp_path / "coopbot.log"
    async with BotApiEmulator(token=TEST_TOKEN) as emulator:
        settings_path = config(tmp_path, emulator.base_url)
        await prepare(settings_path, emulator)

        first = await start_bot(settings_path, log)
        try:
            await wait_until_reached(emulator, SUBSCRIBERS // 3)
        finally:
            first.kill()
            await first.wait()
        before_kill = reminders(emulator)
        assert first.returncode == -signal.SIGKILL
        assert len(before_kill) < SUBSCRIBERS, "the fan-out ended before the kill"

        second = await start_bot(settings_path, log)
        try:
            await wait_until_reached(emulator, SUBSCRIBERS)
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), TIMEOUT)
        received = reminders(emulator)
    elapsed = time.monotonic() - began

    twice = sorted(chat for chat, times in received.items() if times > 1)
    print(
        f"crash drill: {len(before_kill)} of {SUBSCRIBERS} reached before the kill, "
        f"{len(twice)} received it twice {twice}, {elapsed:.1f}s in all"
    )
    assert second.returncode == 0, log.read_text("utf-8")
    assert set(received) == set(range(FIRST_CHAT, FIRST_CHAT + SUBSCRIBERS))
    assert max(received.values()) <= 2
    assert len(twice) <= IN_FLIGHT
    assert set(twice) <= set(before_kill)
    assert ledger(tmp_path / "data" / "coopbot.db") == {"sent": SUBSCRIBERS}
