"""/thisweek: "this week in the record" for the digest channel, seen first, posted on Confirm."""

from __future__ import annotations

import dataclasses

import pytest

from bot.settings import Settings
from tests.conftest import ADMIN, UNPACED, Running, both_ways, curator
from tests.helpers import SOURCE_ID, received

CHANNEL = -100900


@pytest.fixture
def settings(settings: Settings) -> Settings:
    digest = dataclasses.replace(settings.digest, channel_id=CHANNEL)
    return dataclasses.replace(
        settings, admin_ids=frozenset({ADMIN}), limits=UNPACED, digest=digest
    )


async def test_the_weeks_additions_are_posted_to_the_channel_on_confirm(
    running: Running,
) -> None:
    running.emulator.group(CHANNEL, "JINR–Kazakhstan news")
    chat = curator(running)
    added = await chat.send(f"/addfact agreement | A week's new fact | Said. | {SOURCE_ID}")
    await chat.press(added, "✅ Confirm")
    await chat.send("/thisweek")
    post = await chat.next_message()
    assert post.text.startswith("🗞 What is new since")
    assert "A week's new fact" in post.text
    assert received(running, CHANNEL) == [], "nothing goes out before Confirm"
    done = await chat.press(post, "📣 Post to the channel")
    assert done.text == "📣 Posted to the digest channel."
    (posted,) = received(running, CHANNEL)
    assert "A week's new fact" in posted


@both_ways
async def test_a_week_with_nothing_new_posts_nothing(running: Running) -> None:
    running.emulator.group(CHANNEL, "JINR–Kazakhstan news")
    reply = await curator(running).send("/thisweek")
    assert "nothing to post" in reply.text
    assert not reply.buttons


async def test_without_a_channel_the_curator_is_told_where_to_set_one(running: Running) -> None:
    data = running.app.bot_data
    data.settings = dataclasses.replace(
        data.settings, digest=dataclasses.replace(data.settings.digest, channel_id=None)
    )
    reply = await curator(running).send("/thisweek")
    assert "[digest] channel_id" in reply.text


async def test_someone_else_can_neither_preview_nor_post(running: Running) -> None:
    running.emulator.group(CHANNEL, "JINR–Kazakhstan news")
    stranger = running.chat(777, first_name="Stranger")
    assert "curators only" in (await stranger.send("/thisweek")).text
    chat = curator(running)
    added = await chat.send(f"/addfact agreement | A week's new fact | Said. | {SOURCE_ID}")
    await chat.press(added, "✅ Confirm")
    await chat.send("/thisweek")
    post = await chat.next_message()
    press = running.emulator.press_button(post, "📣 Post to the channel", stranger.user)
    answer = await running.emulator.wait_for_callback_answer(press)
    assert answer.show_alert
    assert "curators only" in (answer.text or "")
    assert received(running, CHANNEL) == []
