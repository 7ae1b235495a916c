"""The bot's own membership, as Telegram reports it (my_chat_member): a user who blocks the bot
or a group that removes it gets no digest from then on, and gets them again once it is back."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

import pytest

from bot.emulator.values import JsonDict
from bot.settings import Settings
from tests.conftest import UNPACED, Running, until_handled
from tests.helpers import START, add_event, chat_row, received, sends_to, subscribe, tick_at

GROUP = -100321
ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": False,
    "can_manage_video_chats": False,
    "can_restrict_members": False,
    "can_promote_members": False,
    "can_change_info": False,
    "can_invite_users": False,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, limits=UNPACED)


def status(running: Running, name: str) -> JsonDict:
    """The bot's ChatMember object with this status."""
    member: JsonDict = {"status": name, "user": running.emulator.bot.to_json()}
    if name == "kicked":
        member["until_date"] = 0
    if name == "administrator":
        member |= ADMIN_RIGHTS
    return member


async def membership(running: Running, chat_id: int, old: str, new: str) -> None:
    """Deliver the bot's change of status in a chat, as Telegram does, and wait until handled."""
    chat = running.emulator.chat(chat_id)
    actor = running.user(1001)
    change = {
        "chat": chat.to_json(),
        "from": actor.to_json(),
        "date": int(time.time()),
        "old_chat_member": status(running, old),
        "new_chat_member": status(running, new),
    }
    await until_handled(running, running.emulator.inject("my_chat_member", change))


async def test_a_user_who_blocks_the_bot_gets_no_digest_until_they_unblock_it(
    running: Running,
) -> None:
    await subscribe(running, 1001)
    await subscribe(running, 1002)
    await add_event(running)
    await membership(running, 1001, "member", "kicked")
    chat = await chat_row(running, 1001)
    assert chat is not None
    assert chat.active is False

    await tick_at(running, START - timedelta(days=7))
    assert sends_to(running, 1001) == 0
    assert len(received(running, 1002)) == 1  # the tick did send

    await membership(running, 1001, "kicked", "member")
    await tick_at(running, START - timedelta(days=1))
    assert received(running, 1001)[-1].startswith("⏰ Reminder: in 1 day")


@pytest.mark.parametrize("removed", ["left", "kicked"])
async def test_a_group_that_removes_the_bot_gets_no_digest_until_it_adds_it_back(
    running: Running, removed: str
) -> None:
    running.emulator.group(GROUP, "Physics club")
    await subscribe(running, GROUP)
    await add_event(running)
    await membership(running, GROUP, "member", removed)

    await tick_at(running, START - timedelta(days=7))
    assert sends_to(running, GROUP) == 0

    await membership(running, GROUP, removed, "administrator")
    await tick_at(running, START - timedelta(days=1))
    assert received(running, GROUP)[-1].startswith("⏰ Reminder: in 1 day")
