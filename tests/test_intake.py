"""Updates run side by side across chats and in order within one; fetching waits for room."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from telegram import Chat, Message, Update, User

from bot.emulator import ChatSession
from bot.intake import ChatOrder, PatientPolling, UpdateQueue
from bot.transport import AiohttpRequest
from tests.conftest import Running

Reply = tuple[int, bytes]

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
        asyncio.create_task(order.process_update(_update(n, chat_id=7), w.run()))
        for n, w in enumerate(work)
    ]
    await asyncio.wait_for(work[0].started.wait(), WAIT)
    work[2].release.set()  # the third is free to finish, but must not start before the second
    work[1].release.set()
    await asyncio.sleep(0)  # let any wrongly unblocked update run a step
    assert log == ["start 1"]
    work[0].release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)
    assert log == ["start 1", "end 1", "start 2", "end 2", "start 3", "end 3"]


async def test_other_chats_go_ahead_while_one_chat_waits() -> None:
    order, log = ChatOrder(slots=8), list[str]()
    slow, quick = Handling("slow", log), Handling("quick", log)
    slow_task = asyncio.create_task(order.process_update(_update(1, chat_id=1), slow.run()))
    await asyncio.wait_for(slow.started.wait(), WAIT)
    quick.release.set()
    await asyncio.wait_for(order.process_update(_update(2, chat_id=2), quick.run()), WAIT)
    assert log == ["start slow", "start quick", "end quick"]
    slow.release.set()
    await asyncio.wait_for(slow_task, WAIT)


async def test_no_more_updates_at_once_than_slots() -> None:
    order, log = ChatOrder(slots=2), list[str]()
    work = [Handling(str(n), log) for n in range(3)]
    tasks = [
        asyncio.create_task(order.process_update(_update(n, chat_id=n), w.run()))
        for n, w in enumerate(work)
    ]
    await asyncio.wait_for(asyncio.gather(work[0].started.wait(), work[1].started.wait()), WAIT)
    await asyncio.sleep(0)
    assert not work[2].started.is_set()
    work[0].release.set()
    await asyncio.wait_for(work[2].started.wait(), WAIT)
    for w in work:
        w.release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)


async def test_a_chat_waiting_for_itself_holds_one_slot_not_all() -> None:
    order, log = ChatOrder(slots=2), list[str]()
    busy = [Handling(f"busy {n}", log) for n in range(4)]
    tasks = [
        asyncio.create_task(order.process_update(_update(n, chat_id=1), w.run()))
        for n, w in enumerate(busy)
    ]
    await asyncio.wait_for(busy[0].started.wait(), WAIT)
    other = Handling("other", log)
    other.release.set()
    await asyncio.wait_for(order.process_update(_update(9, chat_id=2), other.run()), WAIT)
    assert "end other" in log
    assert "start busy 1" not in log
    for w in busy:
        w.release.set()
    await asyncio.wait_for(asyncio.gather(*tasks), WAIT)


async def test_the_queue_runs_low_only_when_few_updates_are_unanswered() -> None:
    queue = UpdateQueue(low_water=2)
    for n in range(3):
        queue.put_nowait(n)
    assert not await _is_low(queue)
    queue.get_nowait()
    assert not await _is_low(queue), "taken but not yet answered still counts"
    queue.task_done()
    assert await _is_low(queue)
    queue.put_nowait(3)
    assert not await _is_low(queue)


async def _is_low(queue: UpdateQueue) -> bool:
    try:
        await asyncio.wait_for(queue.running_low(), 0.01)
    except TimeoutError:
        return False
    return True


async def test_getupdates_waits_until_the_queue_runs_low(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []

    async def send(
        self: AiohttpRequest, url: str, method: str, *args: object, **kw: object
    ) -> Reply:
        sent.append(url)
        return 200, b"{}"

    monkeypatch.setattr(AiohttpRequest, "do_request", send)
    queue = UpdateQueue(low_water=1)
    queue.put_nowait("first")
    queue.put_nowait("second")
    poll = asyncio.create_task(
        PatientPolling(queue, read_timeout=WAIT).do_request("http://api/getUpdates", "POST")
    )
    await asyncio.sleep(0)  # one step of the poll: unless it waits for room, it sends now
    assert sent == []
    queue.get_nowait()
    queue.task_done()
    assert await asyncio.wait_for(poll, WAIT) == (200, b"{}")
    assert sent == ["http://api/getUpdates"]


async def test_many_chats_at_once_each_get_their_own_answers(running: Running) -> None:
    """Forty users, three commands each, sent as fast as answers come: nobody gets another's."""
    chats = [running.chat(5000 + n, first_name=f"User{n}") for n in range(40)]

    async def converse(chat: ChatSession) -> list[str]:
        return [(await chat.send(command)).text for command in ("/help", "/next", "/about")]

    answers = await asyncio.wait_for(asyncio.gather(*(converse(c) for c in chats)), 3 * WAIT)
    for chat, (help_text, next_text, about_text) in zip(chats, answers, strict=True):
        assert "/search" in help_text
        assert "Committee of Plenipotentiaries" in next_text
        assert "agreement" in about_text.lower()
        assert len(chat.messages) == 3
