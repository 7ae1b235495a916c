"""Forum topics: the bot answers in the topic it was asked in (commands, presses), and a
/subscribe in a topic has that topic's digests go there."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from bot.emulator import ApiError, ChatSession
from bot.settings import Settings
from storage.bot_models import Subscription
from tests.conftest import UNPACED, Running
from tests.helpers import START, add_event, tick_at

FORUM = -100900
TOPIC = 42


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, limits=UNPACED)


def in_forum(running: Running, thread_id: int | None = TOPIC) -> ChatSession:
    """A forum admin's side of one topic (None: the General topic)."""
    user = running.user()
    group = running.emulator.group(FORUM, "JINR forum", admins=[user])
    return running.emulator.group_chat(group, user, thread_id=thread_id)


async def test_a_command_in_a_topic_is_answered_in_that_topic(running: Running) -> None:
    answer = await in_forum(running).send("/about@coop_test_bot")
    assert "JINR and Kazakhstan" in answer.text
    assert answer.thread_id == TOPIC
    general = await in_forum(running, None).send("/about@coop_test_bot")
    assert general.thread_id is None


async def test_a_press_in_a_topic_answers_in_that_topic(running: Running) -> None:
    topic = in_forum(running)
    page = await topic.send("/facilities@coop_test_bot")
    turned = await topic.press(page, "Next ›")
    assert (turned.message_id, turned.thread_id) == (page.message_id, TOPIC)
    running.emulator.fail("editMessageText", ApiError.bad_request("message can't be edited"))
    anew = await topic.press(turned, "‹ Previous")
    assert anew.message_id != page.message_id
    assert anew.thread_id == TOPIC


async def test_a_subscribe_in_a_topic_brings_the_digests_to_that_topic(running: Running) -> None:
    topic = in_forum(running)
    answer = await topic.send("/subscribe@coop_test_bot")
    assert answer.text.startswith("🔔 Subscribed.")
    assert answer.thread_id == TOPIC
    async with running.sessions() as session:
        subscription = await session.get(Subscription, FORUM)
    assert subscription is not None
    assert subscription.thread_id == TOPIC
    await add_event(running)
    await tick_at(running, START - timedelta(days=7))
    reminder = running.emulator.history(FORUM)[-1]
    assert reminder.text.startswith("⏰ Reminder: in 7 days")
    assert reminder.thread_id == TOPIC


async def test_a_subscribe_in_general_brings_the_digests_back_to_general(
    running: Running,
) -> None:
    await in_forum(running).send("/subscribe@coop_test_bot")
    again = await in_forum(running, None).send("/subscribe@coop_test_bot")
    assert again.text.startswith("🔔 This chat is already subscribed.")
    await add_event(running)
    await tick_at(running, START - timedelta(days=7))
    assert running.emulator.history(FORUM)[-1].thread_id is None
