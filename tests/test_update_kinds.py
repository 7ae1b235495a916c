"""Updates as Telegram means them: edits and channel posts are not commands, and a command for
another bot, or in another spelling, is never answered with itself."""

from __future__ import annotations

import time

from bot.emulator.values import JsonDict
from storage.bot_models import Subscription
from tests.conftest import Running, answers_before, until_handled


def _message(chat: JsonDict, text: str, extra: JsonDict | None = None) -> JsonDict:
    entity = {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
    return {
        "message_id": 500,
        "date": int(time.time()),
        "chat": chat,
        "text": text,
        "entities": [entity],
        **(extra or {}),
    }


async def test_an_edited_subscribe_does_not_subscribe(running: Running) -> None:
    user = running.user()
    private = {"id": user.id, "type": "private", "first_name": user.first_name}
    edited = _message(private, "/subscribe", {"from": user.to_json(), "edit_date": 1})
    update_id = running.emulator.inject("edited_message", edited, created_earlier=True)
    await until_handled(running, update_id)
    assert running.emulator.history(user.id) == []
    async with running.sessions() as session:
        assert await session.get(Subscription, user.id) is None


async def test_a_channel_post_command_gets_no_answer(running: Running) -> None:
    channel = {"id": -1002000, "type": "channel", "title": "JINR news"}
    running.emulator.group(-1002000, "JINR news")  # so that a reply would be recorded
    post = _message(channel, "/subscribe")
    update_id = running.emulator.inject("channel_post", post, created_earlier=True)
    await until_handled(running, update_id)
    assert running.emulator.history(-1002000) == []


async def test_a_command_for_another_bot_is_left_to_it(running: Running) -> None:
    user = running.user()
    group = running.emulator.group(-100555, "Physics club")
    chat = running.emulator.group_chat(group, user)
    chat.say("/subscribe@other_bot")
    chat.say("/helpp@other_bot")
    reply = await chat.send("/help@coop_test_bot")
    assert "What I can do" in reply.text
    assert len(running.emulator.history(group.id)) == 1


async def test_in_a_group_an_unknown_command_is_answered_only_when_addressed_to_the_bot(
    running: Running,
) -> None:
    user = running.user()
    group = running.emulator.group(-100556, "Physics club")
    chat = running.emulator.group_chat(group, user)
    # Likely another bot's, sent without its name: every bot in the group sees it.
    chat.say("/weather")
    chat.say("/weather@coop_test_bot")
    # A chat's updates are answered in order: all the bot said to both comes before /help's.
    seen = await answers_before(chat, "/help", lambda text: "What I can do" in text)
    unknown = [m.text for m in seen[:-1]]
    assert len(unknown) == 1, "the unaddressed one was answered too"
    assert "I don't know the command /weather" in unknown[0]
    # In a private chat every command is meant for the bot.
    private = await running.chat().send("/weather")
    assert "I don't know the command /weather" in private.text


async def test_a_known_command_in_another_spelling_works_and_never_suggests_itself(
    running: Running,
) -> None:
    chat = running.chat()
    assert "JINR and Kazakhstan" in (await chat.send("/About")).text
    assert "JINR and Kazakhstan" in (await chat.send("/about@Coop_Test_Bot")).text
    for text in [m.text for m in running.emulator.history(chat.chat.id)]:
        assert "Did you mean /about" not in text
