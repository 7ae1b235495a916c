"""Replies that survive a bad moment: what failed without doing anything is tried again, a few
times; what may have been done (a send answered after its timeout) is not, and nothing more is
said. "Something went wrong" never follows an answer that went out."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.emulator import ApiError, BotApiEmulator
from bot.settings import Settings
from bot.telegram.courier import RETRY_DELAYS
from storage.models import Fact
from tests.conftest import UNPACED, Running, answers_before, started
from tests.helpers import FACILITY_PAGES

# Each wait for the Bot API's answer, short so that a late answer times out quickly.
READ_TIMEOUT = 1.0
ABOUT = "🤝 JINR and Kazakhstan"
HELP = "What I can do"
GENERIC = "Something went wrong"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, limits=UNPACED)


@pytest.fixture
async def running(
    emulator: BotApiEmulator,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> AsyncIterator[Running]:
    """As conftest's, with a short read timeout."""
    async with started(emulator, settings, sessions, clock, read_timeout=READ_TIMEOUT) as running:
        yield running


def said(running: Running, words: str) -> int:
    return sum(words in message.text for message in running.emulator.history(1001))


def failed_sends(running: Running) -> int:
    return sum(call.error is not None for call in running.emulator.calls_to("sendMessage"))


async def test_one_server_error_on_a_reply_is_retried_and_the_answer_arrives(
    running: Running,
) -> None:
    chat = running.chat()
    running.emulator.fail("sendMessage", ApiError(500, "Internal Server Error"))
    assert ABOUT in (await chat.send("/about")).text
    await answers_before(chat, "/help", lambda text: HELP in text)
    assert (said(running, ABOUT), said(running, GENERIC), failed_sends(running)) == (1, 0, 1)


async def test_a_press_whose_edit_meets_a_bad_gateway_still_turns_the_page(
    running: Running,
) -> None:
    chat = running.chat()
    page = await chat.send("/facilities")
    running.emulator.fail("editMessageText", ApiError(502, "Bad Gateway"))
    turned = await chat.press(page, "Next ›")
    assert f"page 2 of {FACILITY_PAGES}" in turned.text
    await answers_before(chat, "/help", lambda text: HELP in text)
    assert said(running, GENERIC) == 0


async def test_a_reply_answered_after_its_timeout_goes_out_once_and_nothing_follows(
    running: Running,
) -> None:
    chat = running.chat()
    running.emulator.answer_late("sendMessage", READ_TIMEOUT * 2)
    chat.say("/about")
    answers = await answers_before(chat, "/help", lambda text: HELP in text)
    assert [ABOUT in message.text for message in answers] == [True, False]
    assert (said(running, ABOUT), said(running, GENERIC)) == (1, 0)


async def test_retries_are_bounded_and_then_the_user_is_told(running: Running) -> None:
    chat = running.chat()
    attempts = 1 + len(RETRY_DELAYS)
    running.emulator.fail("sendMessage", ApiError(503, "Service Unavailable"), times=attempts)
    assert GENERIC in (await chat.send("/about")).text
    assert (said(running, ABOUT), failed_sends(running)) == (0, attempts)


async def test_no_retry_starts_once_the_bot_is_stopping(running: Running) -> None:
    chat = running.chat()
    running.app.bot_data.stopping.set()
    running.emulator.fail("sendMessage", ApiError(500, "Internal Server Error"))
    assert GENERIC in (await chat.send("/about")).text
    assert (said(running, ABOUT), failed_sends(running)) == (0, 1)


async def test_an_answer_cut_short_after_its_first_message_is_not_followed_by_the_error(
    running: Running,
) -> None:
    async with running.sessions.begin() as session:
        session.add(
            Fact(
                id="long",
                topic="computing",
                title="A very long fact",
                text=" ".join(["Kazakhstan & JINR cooperate."] * 400),
                source_id="jinr-2023-10-04-agreement-of-intent",
                position=99,
            )
        )
    chat = running.chat()
    running.emulator.fail("sendMessage", ApiError.bad_request("chat is being repaired"), after=1)
    first = await chat.send("/facts computing")
    assert first.text.startswith("📌 Distributed computing")
    answers = await answers_before(chat, "/help", lambda text: HELP in text)
    assert [GENERIC in message.text for message in answers] == [False]
