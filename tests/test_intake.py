"""Updates run side by side across chats and in order within one; fetching waits for room,
counted in chats: one chat's backlog delays only that chat."""

from __future__ import annotations

import asyncio
import datetime as dt

from telegram import Chat, Message, Update, User

from bot.emulator import ChatSession
from bot.telegram.intake import LOW_WATER, ChatOrder, Intake
from tests.conftest import Running
from tests.helpers import LATEST_EVENT

WAIT = 5.0


def _update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE)
    user = User(chat_id, "Someone", is_bot=False)
    when = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)
    return Update(update_id, message=Message(update_id, when, chat, from_user=user, text="/next"))


class Handling:
    """Work for one update that starts, then holds until released; it notes both."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self._log = name, log
        self.started, self.release = asyncio.Event(), asyncio.Event()

    async def run(self) -> None:
        self._log.append(f"start {self.name}")
        self.started.set()
        await self.release.wait()
        self._log.append(f"end {self.name}")


async def test_one_chats_updates_wait_for_each_other_in_order() -> None:
    order, log = ChatOrder(slots=8), list[str]()
    work = [Handling(str(n), log) for n in (1, 2, 3)]
    tasks = [
        asyncio.create_task(order.run(_update(n, chat_id=7), w.run)) for n, w in enumerate(work)
    ]
    await asyncio.wait_for(work[0].started.wait(), WAIT)
    work[2].release.set()  # the third is free to finish, but must not start before the second
    work[1].release.set()
    # Not yet proof: the log at the end is, taken once every update has run.
    assert log == ["start 1"]
    work[0].release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
    assert log == ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]


async def test_other_chats_go_ahead_while_one_chat_waits() -> None:
    order, log = ChatOrder(slots=8), list[str]()
    slow, quick = Handling("slow", log), Handling("quick", log)
    slow_task = asyncio.create_task(order.run(_update(1, chat_id=1), slow.run))
    await asyncio.wait_for(slow.started.wait(), WAIT)
    quick.release.set()
    await asyncio.wait_for(order.run(_update(2, chat_id=2), quick.run), WAIT)
    assert log == ["start slow", "start quick", "end quick"]
    slow.release.set()
    await asyncio.wait_for(slow_task, WAIT)


async def test_no_more_updates_at_once_than_slots() -> None:
    order, log = ChatOrder(slots=2), list[str]()
    work = [Handling(str(n), log) for n in range(3)]
    tasks = [
        asyncio.create_task(order.run(_update(n, chat_id=n), w.run)) for n, w in enumerate(work)
    ]
    await asyncio.wait_for(asyncio.gather(work[0].started.wait(), work[1].started.wait()), WAIT)
    assert not work[2].started.is_set()
    work[0].release.set()
    await asyncio.wait_for(work[2].started.wait(), WAIT)
    # The proof, once the third has started: it did when a slot came free, not before.
    assert log.index("start 2") > log.index("end 0")
    for w in work:
        w.release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)


async def test_a_chat_waiting_for_itself_holds_one_slot_not_all() -> None:
    order, log = ChatOrder(slots=2), list[str]()
    busy = [Handling(f"busy {n}", log) for n in range(4)]
    tasks = [
        asyncio.create_task(order.run(_update(n, chat_id=1), w.run)) for n, w in enumerate(busy)
    ]
    await asyncio.wait_for(busy[0].started.wait(), WAIT)
    other = Handling("other", log)
    other.release.set()
    await asyncio.wait_for(order.run(_update(9, chat_id=2), other.run), WAIT)
    assert "end other" in log
    assert "start busy 1" not in log
    for w in busy:
        w.release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)


async def test_there_is_room_to_fetch_while_few_chats_have_work_however_deep() -> None:
    log: list[str] = []
    work = {n: Handling(str(n), log) for n in range(42)}

    async def handle(update: Update) -> None:
        await work[update.update_id].run()

    intake = Intake(handle, low_water=2)
    for n in range(40):  # one chat's deep backlog: one chat with work
        intake.take(_update(n, chat_id=1))
    intake.take(_update(40, chat_id=2))
    assert intake.has_room()
    intake.take(_update(41, chat_id=3))
    assert not intake.has_room(), "three chats with work is more than two"
    await asyncio.wait_for(work[41].started.wait(), WAIT)
    work[41].release.set()
    await asyncio.wait_for(intake.room(), WAIT)
    assert intake.handled == {41}
    await intake.stop(grace=0)


async def test_stopping_starts_nothing_more_and_cancels_what_runs_past_the_grace() -> None:
    log: list[str] = []
    work = {n: Handling(str(n), log) for n in range(3)}

    async def handle(update: Update) -> None:
        await work[update.update_id].run()

    intake = Intake(handle)
    for n in range(3):
        intake.take(_update(n, chat_id=1))
    await asyncio.wait_for(work[0].started.wait(), WAIT)
    await intake.stop(grace=0)
    assert log == ["start 0"]
    assert intake.handled == set()


async def test_many_chats_at_once_each_get_their_own_answers(running: Running) -> None:
    """Forty users, three commands each, sent as fast as answers come: nobody gets another's."""
    chats = [running.chat(5000 + n, first_name=f"User{n}") for n in range(40)]

    async def converse(chat: ChatSession) -> list[str]:
        return [(await chat.send(command)).text for command in ("/help", "/next", "/about")]

    answers = await asyncio.wait_for(asyncio.gather(*(converse(c) for c in chats)), 3 * WAIT)
    for chat, (help_text, next_text, about_text) in zip(chats, answers, strict=True):
        assert "/search" in help_text
        assert LATEST_EVENT in next_text
        assert "agreement" in about_text.lower()
        assert len(chat.messages) == 3


async def test_another_users_help_is_answered_while_a_chat_and_a_group_have_deep_backlogs(
    running: Running,
) -> None:
    """Forty commands each from one user and one group wait on their own chats' pace (one a
    second, twenty a minute); a third user's /help goes past both, long before they drain."""
    busy = running.chat(6001, first_name="Busy")
    members = running.user(6002, first_name="Member")
    group = running.emulator.group_chat(running.emulator.group(-6003, "Busy group"), members)
    depth = 40
    for _ in range(depth):
        busy.say("/about")
        group.say("/about")
    await busy.next_message()  # both backlogs are in hand: the first answer has gone out
    await group.next_message()

    bystander = running.chat(6004, first_name="Bystander")
    assert "/search" in (await bystander.send("/help")).text
    # Fetching used to wait until at most LOW_WATER updates were unanswered in all.
    assert len(busy.messages) < depth - LOW_WATER
    assert len(group.messages) < depth - LOW_WATER
