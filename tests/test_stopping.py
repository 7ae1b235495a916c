"""Stopping a real `coopbot run` with hundreds of updates in hand and the Bot API stalled: it
exits cleanly within the bound Docker and systemd allow, and the next start answers every
update exactly once (those in hand wait in the inbox, the others at Telegram).

The pace of one message a second to each chat keeps a backlog in hand; the emulator's stall
stands for a Telegram that stopped answering. The child runs this checkout's code.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from bot.emulator import BotApiEmulator
from tests.conftest import TEST_TOKEN
from tests.helpers import config_file, start_bot, table_count

USERS = 60
EACH = 8
FIRST_USER = 7000
# Docker and systemd wait 10 s at least before they kill; the bot means to be gone in 5.
STOP_BOUND = 10.0
TIMEOUT = 60.0


def answered(emulator: BotApiEmulator) -> dict[int, int]:
    """How many answers each user got."""
    return {user: len(emulator.history(user)) for user in range(FIRST_USER, FIRST_USER + USERS)}


async def until(emulator: BotApiEmulator, enough: int) -> None:
    """Until the users have been answered `enough` times in all."""
    async with asyncio.timeout(TIMEOUT):
        while sum(answered(emulator).values()) < enough:
            await emulator.wait_for_call("sendMessage", after=len(emulator.calls), timeout=TIMEOUT)


async def test_sigterm_with_a_backlog_and_the_api_stalled_stops_in_time_and_loses_nothing(
    tmp_path: Path,
) -> None:
    log = tmp_path / "coopbot.log"
    async with BotApiEmulator(token=TEST_TOKEN) as emulator:
        settings = config_file(tmp_path, telegram=f'base_url = "{emulator.base_url}"')
        ready = emulator.private_chat(emulator.user(42, "Ready"), timeout=TIMEOUT)
        first = await start_bot(settings, log)
        try:
            await ready.send("/help")
            for user in range(FIRST_USER, FIRST_USER + USERS):
                emulator.user(user, f"User {user}")
                for _ in range(EACH):
                    emulator.send_message(user, user, "/about")
            await until(emulator, 20)
            emulator.stall(10 * TIMEOUT)
            first.send_signal(signal.SIGTERM)
            await asyncio.wait_for(first.wait(), STOP_BOUND)
        finally:
            if first.returncode is None:
                first.kill()
                await first.wait()
        assert first.returncode == 0, log.read_text("utf-8")
        kept = table_count(tmp_path / "data" / "coopbot.db", "inbox")
        assert 0 < sum(answered(emulator).values()) < USERS * EACH
        emulator.resume()

        second = await start_bot(settings, log)
        try:
            await until(emulator, USERS * EACH)
        finally:
            second.send_signal(signal.SIGTERM)
            await asyncio.wait_for(second.wait(), TIMEOUT)
        assert second.returncode == 0, log.read_text("utf-8")
    print(f"{kept} updates waited in the inbox across the stop")
    assert kept > 0
    assert answered(emulator) == dict.fromkeys(range(FIRST_USER, FIRST_USER + USERS), EACH)
    assert table_count(tmp_path / "data" / "coopbot.db", "inbox") == 0
    assert TEST_TOKEN.split(":")[1] not in log.read_text("utf-8")
