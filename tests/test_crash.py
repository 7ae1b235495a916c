"""The crash drills: a real ``coopbot run`` killed with SIGKILL in the middle of a fan-out, then
started again on the same database, misses no subscriber and repeats at most the sends that
were in flight when it died: a reminder's fan-out, and an admin's /broadcast, whose progress
message goes on being edited after the restart. And the stop drills: SIGTERM while the emulator
holds every send on its way: no send starts after the signal, the process exits 0, and the next
start sends the rest, each subscriber getting the message exactly once.

The bot decides what is due from the wall clock, so the reminder's event is placed relative to
now: the 1-day reminder became due a few minutes ago. The pace is set so that a fan-out takes a
few seconds, long enough to kill it half-way; every wait is on an emulator event, with a
timeout. The child runs this checkout's code (cwd and PYTHONPATH are the repository root), not
whatever copy of coopbot is installed.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.digest.sends import in_flight
from bot.emulator import BotApiEmulator, ChatSession, SentMessage
from bot.runtime import open_database, sync
from bot.settings import Limits, load_settings
from storage.bot_models import Chat, Subscription
from storage.models import Base, Event
from tests.conftest import ADMIN, TEST_TOKEN
from tests.helpers import config_file, start_bot

SUBSCRIBERS = 300
FIRST_CHAT = 1_000
TITLE = "Crash drill colloquium"
ANNOUNCEMENT = "Crash drill announcement: the winter school opens on 1 December."
# A deadline for each wait: start-up (imports, migrations, content) comes before the first send.
TIMEOUT = 30.0
PER_SECOND = 100


def config(tmp_path: Path, base_url: str, *, admins: Collection[int] = ()) -> Path:
    """Ticks every second; 100 sends a second, so 300 subscribers take about three seconds."""
    return config_file(
        tmp_path,
        telegram=f'base_url = "{base_url}"',
        digest='tick = "1s"',
        limits=f"per_second = {PER_SECOND}",
        admins=f"user_ids = {sorted(admins)}",
    )


def subscribers() -> set[int]:
    return set(range(FIRST_CHAT, FIRST_CHAT + SUBSCRIBERS))


async def prepare(settings_path: Path, emulator: BotApiEmulator, *rows: Base) -> None:
    """The synced database, the subscribers (private chats that want events), and `rows`."""
    settings = load_settings(settings_path, env={"COOPBOT_TOKEN": TEST_TOKEN})
    async with open_database(settings) as database:
        await sync(settings, database.sessions)
        async with database.sessions.begin() as session:
            for chat_id in sorted(subscribers()):
                emulator.user(chat_id, f"User {chat_id}")
                session.add(Chat(id=chat_id, type="private", title=None, language="en"))
            await session.flush()
            for chat_id in sorted(subscribers()):
                session.add(Subscription(chat_id=chat_id, events=True, news=False))
            session.add_all(rows)


def drill_event() -> Event:
    """An event whose 1-day reminder became due five minutes ago."""
    return Event(
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


async def kill(process: asyncio.subprocess.Process) -> None:
    process.kill()
    await process.wait()


async def stop(process: asyncio.subprocess.Process) -> None:
    """As a service manager would: SIGTERM, then the bot's own clean shutdown."""
    process.send_signal(signal.SIGTERM)
    await asyncio.wait_for(process.wait(), TIMEOUT)


def received(emulator: BotApiEmulator, marker: str) -> Counter[int]:
    """How many times each chat was sent a message containing `marker` (requests that reached
    us), the admin's chat left out.
    """
    return Counter(
        chat_id
        for call in emulator.calls_to("sendMessage")
        if marker in str(call.params.get("text", ""))
        and (chat_id := int(str(call.params["chat_id"]))) != ADMIN
    )


async def wait_until_reached(emulator: BotApiEmulator, marker: str, chats: int) -> None:
    """Until at least `chats` subscribers have been sent the message containing `marker`."""
    async with asyncio.timeout(TIMEOUT):
        while len(received(emulator, marker)) < chats:
            await emulator.wait_for_call("sendMessage", after=len(emulator.calls), timeout=TIMEOUT)


def assert_each_once(received: Counter[int], before_kill: Counter[int]) -> None:
    """Everyone got it; only sends in flight at the kill were repeated, once at most."""
    twice = sorted(chat for chat, times in received.items() if times > 1)
    print(f"{len(before_kill)} of {SUBSCRIBERS} reached before the kill, {len(twice)} twice")
    assert set(received) == subscribers()
    assert max(received.values()) <= 2
    assert len(twice) <= in_flight(Limits(per_second=PER_SECOND))
    assert set(twice) <= set(before_kill)


def ledger(database: Path, kind: str, event_id: str | None = None) -> Counter[str]:
    """The deliveries' statuses of the digests of this kind (and event)."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT deliveries.status FROM deliveries "
            "JOIN digests ON digests.id = deliveries.digest_id "
            "WHERE digests.kind = ? AND digests.event_id IS ?",
            (kind, event_id),
        ).fetchall()
    return Counter(status for (status,) in rows)


async def test_kill_mid_fanout_and_restart_miss_nobody_and_repeat_only_sends_in_flight(
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    log = tmp_path / "coopbot.log"
    async with BotApiEmulator(token=TEST_TOKEN) as emulator:
        settings_path = config(tmp_path, emulator.base_url)
        await prepare(settings_path, emulator, drill_event())

        first = await start_bot(settings_path, log)
        try:
            await wait_until_reached(emulator, TITLE, SUBSCRIBERS // 3)
        finally:
            await kill(first)
        before_kill = received(emulator, TITLE)
        assert first.returncode == -signal.SIGKILL
        assert len(before_kill) < SUBSCRIBERS, "the fan-out ended before the kill"

        second = await start_bot(settings_path, log)
        try:
            await wait_until_reached(emulator, TITLE, SUBSCRIBERS)
        finally:
            await stop(second)
    print(f"crash drill: {time.monotonic() - began:.1f}s in all")
    assert second.returncode == 0, log.read_text("utf-8")
    assert_each_once(received(emulator, TITLE), before_kill)
    assert ledger(tmp_path / "data" / "coopbot.db", "reminder", "drill") == {"sent": SUBSCRIBERS}


def delivered(emulator: BotApiEmulator, marker: str) -> Counter[int]:
    """How many messages containing `marker` each subscriber holds: what was carried out,
    where `received` counts what was asked."""
    return Counter(
        chat_id
        for chat_id in subscribers()
        for message in emulator.history(chat_id)
        if marker in message.text
    )


async def test_sigterm_mid_fanout_stops_starting_sends_and_a_restart_sends_each_rest_once(
    tmp_path: Path,
) -> None:
    """SIGTERM while Telegram holds the sends on their way: no send starts after the signal, the
    held ones are given up after the grace (left pending), the process exits 0, and the next
    start sends every chat not yet reached: each subscriber has the reminder exactly once."""
    log = tmp_path / "coopbot.log"
    async with BotApiEmulator(token=TEST_TOKEN) as emulator:
        settings_path = config(tmp_path, emulator.base_url)
        await prepare(settings_path, emulator, drill_event())

        first = await start_bot(settings_path, log)
        try:
            await wait_until_reached(emulator, TITLE, SUBSCRIBERS // 3)
            emulator.hold("sendMessage")
            signalled = len(emulator.calls)
            first.send_signal(signal.SIGTERM)
            # A failure bound only: before, the process sent on to the last subscriber.
            await asyncio.wait_for(first.wait(), TIMEOUT)
        finally:
            if first.returncode is None:
                await kill(first)
        assert first.returncode == 0, log.read_text("utf-8")
        after_signal = [
            call
            for call in emulator.calls[signalled:]
            if call.method == "sendMessage" and TITLE in str(call.params.get("text", ""))
        ]
        assert len(after_signal) <= in_flight(Limits(per_second=PER_SECOND))
        await emulator.wait_for_held("sendMessage", 0, timeout=TIMEOUT)
        emulator.release("sendMessage")
        before_restart = delivered(emulator, TITLE)
        assert len(before_restart) < SUBSCRIBERS, "the fan-out ended before the signal"

        restarted = len(emulator.calls)
        missing = subscribers() - set(before_restart)
        second = await start_bot(settings_path, log)
        try:
            async with asyncio.timeout(TIMEOUT):
                while not missing <= set(received_since(emulator, TITLE, restarted)):
                    await emulator.wait_for_call(
                        "sendMessage", after=len(emulator.calls), timeout=TIMEOUT
                    )
        finally:
            await stop(second)
    assert second.returncode == 0, log.read_text("utf-8")
    assert delivered(emulator, TITLE) == Counter(dict.fromkeys(subscribers(), 1))
    assert ledger(tmp_path / "data" / "coopbot.db", "reminder", "drill") == {"sent": SUBSCRIBERS}


async def test_sigterm_mid_broadcast_stops_and_a_restart_finishes_it_each_chat_once(
    tmp_path: Path,
) -> None:
    log = tmp_path / "coopbot.log"
    async with BotApiEmulator(token=TEST_TOKEN) as emulator:
        settings_path = config(tmp_path, emulator.base_url, admins=[ADMIN])
        await prepare(settings_path, emulator)
        admin = emulator.private_chat(emulator.user(ADMIN, "Curator"), timeout=TIMEOUT)

        first = await start_bot(settings_path, log)
        try:
            await admin.send(f"/broadcast {ANNOUNCEMENT}")
            draft = await admin.next_message()
            await admin.press(draft, f"📣 Send to all subscribers ({SUBSCRIBERS})")
            await wait_until_reached(emulator, ANNOUNCEMENT, SUBSCRIBERS // 3)
            emulator.hold("sendMessage")
            signalled = len(emulator.calls)
            first.send_signal(signal.SIGTERM)
            await asyncio.wait_for(first.wait(), TIMEOUT)
        finally:
            if first.returncode is None:
                await kill(first)
        assert first.returncode == 0, log.read_text("utf-8")
        assert len(received_since(emulator, ANNOUNCEMENT, signalled)) <= in_flight(
            Limits(per_second=PER_SECOND)
        )
        await emulator.wait_for_held("sendMessage", 0, timeout=TIMEOUT)
        emulator.release("sendMessage")
        assert len(delivered(emulator, ANNOUNCEMENT)) < SUBSCRIBERS

        second = await start_bot(settings_path, log)
        try:
            finished = await until_finished(admin)
        finally:
            await stop(second)
    assert second.returncode == 0, log.read_text("utf-8")
    assert finished.text == (
        f"✅ Broadcast finished\nSent {SUBSCRIBERS} of {SUBSCRIBERS} · failed 0 · blocked 0"
    )
    assert delivered(emulator, ANNOUNCEMENT) == Counter(dict.fromkeys(subscribers(), 1))


def received_since(emulator: BotApiEmulator, marker: str, start: int) -> set[int]:
    """The chats sent a message containing `marker` from call number `start` on."""
    return {
        int(str(call.params["chat_id"]))
        for call in emulator.calls[start:]
        if call.method == "sendMessage" and marker in str(call.params.get("text", ""))
    }


async def until_finished(admin: ChatSession) -> SentMessage:
    """The admin's chat, send by send and edit by edit, until the broadcast says it finished."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            message = await admin.next_message()
            if message.text.startswith("✅ Broadcast finished"):
                return message


async def test_broadcast_killed_mid_fanout_resumes_in_the_same_progress_message(
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    log = tmp_path / "coopbot.log"
    async with BotApiEmulator(token=TEST_TOKEN) as emulator:
        settings_path = config(tmp_path, emulator.base_url, admins=[ADMIN])
        await prepare(settings_path, emulator)
        admin = emulator.private_chat(emulator.user(ADMIN, "Curator"), timeout=TIMEOUT)

        first = await start_bot(settings_path, log)
        try:
            await admin.send(f"/broadcast {ANNOUNCEMENT}")
            draft = await admin.next_message()
            progress = await admin.press(draft, f"📣 Send to all subscribers ({SUBSCRIBERS})")
            assert progress.text == "📣 Broadcast: starting…"
            await wait_until_reached(emulator, ANNOUNCEMENT, SUBSCRIBERS // 3)
        finally:
            await kill(first)
        before_kill = received(emulator, ANNOUNCEMENT)
        assert first.returncode == -signal.SIGKILL
        assert len(before_kill) < SUBSCRIBERS, "the fan-out ended before the kill"

        restarted = len(emulator.calls)
        second = await start_bot(settings_path, log)
        try:
            await wait_until_reached(emulator, ANNOUNCEMENT, SUBSCRIBERS)
            finished = await until_finished(admin)
        finally:
            await stop(second)
        edits_after_restart = [
            int(str(call.params["message_id"]))
            for call in emulator.calls[restarted:]
            if call.method == "editMessageText" and str(call.params["chat_id"]) == str(ADMIN)
        ]
        sends_to_admin_after_restart = [
            call
            for call in emulator.calls[restarted:]
            if call.method == "sendMessage" and str(call.params["chat_id"]) == str(ADMIN)
        ]
    print(f"broadcast crash drill: {time.monotonic() - began:.1f}s in all")
    assert second.returncode == 0, log.read_text("utf-8")
    assert_each_once(received(emulator, ANNOUNCEMENT), before_kill)
    assert edits_after_restart
    assert set(edits_after_restart) == {progress.message_id}
    assert not sends_to_admin_after_restart
    assert finished.message_id == progress.message_id
    assert finished.text == (
        f"✅ Broadcast finished\nSent {SUBSCRIBERS} of {SUBSCRIBERS} · failed 0 · blocked 0"
    )
    assert ledger(tmp_path / "data" / "coopbot.db", "broadcast") == {"sent": SUBSCRIBERS}
