"""Polling that never dies quietly: outages are retried, what no retry fixes ends the polling
with one line, and an update PTB cannot read is skipped, its neighbours answered."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AbstractAsyncContextManager

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.emulator import ApiError, BotApiEmulator
from bot.settings import Settings
from bot.telegram.polling import Backoff, Unrecoverable
from tests.conftest import Running
from tests.conftest import started as start

# Pauses short enough that a test retries without waiting; four 404s in a row end it.
QUICK = Backoff(first=0.01, most=0.05, missing_attempts=4)
WAIT = 10.0


def started(
    emulator: BotApiEmulator,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> AbstractAsyncContextManager[Running]:
    return start(emulator, settings, sessions, clock, backoff=QUICK)


def attempts(caplog: pytest.LogCaptureFixture, doing: str) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "bot.telegram.polling"
        and record.getMessage().startswith(f"{doing} failed")
    ]


async def test_polling_outlives_404s_and_server_errors_with_a_line_per_attempt(
    emulator: BotApiEmulator,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A local Bot API server that restarts answers 404 for a moment, then 502."""
    emulator.fail("getUpdates", ApiError(404, "Not Found"), times=3)
    emulator.fail("getUpdates", ApiError(502, "Bad Gateway"), times=2)
    async with started(emulator, settings, sessions, clock) as running:
        chat = running.chat()
        assert "/search" in (await chat.send("/help")).text
        assert not running.app.bot_data.stopping.is_set()
    lines = attempts(caplog, "fetching updates")
    assert len(lines) == 5
    assert "404 Not Found" in lines[0]
    assert "Bad Gateway" in lines[-1]


async def test_a_404_that_lasts_ends_polling_with_one_line_naming_the_url(
    emulator: BotApiEmulator,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    emulator.fail("getUpdates", ApiError(404, "Not Found"), times=1000)
    with pytest.raises(Unrecoverable, match=r"^telegram\.base_url: .* answers 404 Not Found"):
        async with started(emulator, settings, sessions, clock) as running:
            await asyncio.wait_for(running.app.bot_data.stopping.wait(), WAIT)
    assert len(emulator.calls_to("getUpdates")) == QUICK.missing_attempts


async def test_a_revoked_token_ends_polling_at_once_with_one_line(
    emulator: BotApiEmulator,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    emulator.fail("getUpdates", ApiError(401, "Unauthorized"), times=1000)
    with pytest.raises(Unrecoverable, match=r"^telegram\.token: the Bot API refused the token"):
        async with started(emulator, settings, sessions, clock) as running:
            await asyncio.wait_for(running.app.bot_data.stopping.wait(), WAIT)
    assert len(emulator.calls_to("getUpdates")) == 1


async def test_start_waits_for_a_bot_api_that_is_not_up_yet(
    emulator: BotApiEmulator,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.fail("getMe", ApiError(502, "Bad Gateway"), times=3)
    async with started(emulator, settings, sessions, clock) as running:
        assert "/search" in (await running.chat().send("/help")).text
    assert len(attempts(caplog, "reaching the Bot API")) == 3


async def test_an_update_ptb_cannot_read_is_skipped_and_its_neighbours_answered(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    before, after = running.chat(2001), running.chat(2002)
    before.say("/help")
    # PTB 22 requires five more fields of a poll: reading this one raises.
    broken = running.emulator.inject(
        "message",
        {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 2003, "type": "private"},
            "poll": {"id": "1", "question": "?"},
        },
    )
    after.say("/help")
    assert "/search" in (await before.next_message()).text
    assert "/search" in (await after.next_message()).text
    skipped = [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and record.getMessage().startswith("skipped update")
    ]
    assert len(skipped) == 1
    assert skipped[0].startswith(
        f"skipped update {broken} (message): python-telegram-bot cannot read it (TypeError: "
    )


async def test_an_update_answered_just_before_a_stop_is_not_answered_again_at_the_next_start(
    emulator: BotApiEmulator,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    async with start(emulator, settings, sessions, clock) as running:
        chat = running.chat()
        # The fetch after the one that brings /help is what would confirm it: it fails, and
        # the bot is stopped while it waits to try again.
        await emulator.wait_for_call("getUpdates")
        emulator.fail("getUpdates", ApiError(502, "Bad Gateway"))
        await chat.send("/help")
        await failed_call(emulator, "getUpdates")
    async with start(emulator, settings, sessions, clock) as running:
        # One chat's updates are answered in order: a second answer to /help would come first.
        about = await chat.send("/about")
    assert about.text.startswith("🤝 JINR and Kazakhstan")
    helps = [m for m in emulator.history(chat.chat) if m.text.startswith("What I can do")]
    assert len(helps) == 1, "the /help of the first start was answered again"


async def failed_call(emulator: BotApiEmulator, method: str) -> None:
    """Until a call of `method` has been answered with an error."""
    after = 0
    while True:
        call = await emulator.wait_for_call(method, after=after)
        if call.error is not None:
            return
        after = next(i for i, seen in enumerate(emulator.calls) if seen is call) + 1
