"""How updates come in and get worked on: side by side across chats, in order within one.

Answering one update at a time caps a bot at one answer per network round trip (about ten a
second against the real Telegram, far below its 30 messages a second), so updates from
different chats run side by side, up to CONCURRENT_UPDATES at once. One chat's updates still run
one after another, in the order they came: a quick second press must not overtake the first,
and a guided conversation must see its steps in order.

Fetching waits for room. PTB asks for more updates as soon as the last batch is queued, which
under load means a getUpdates round trip (two tasks, an HTTP request, a JSON parse) for almost
every update, competing for the same core as the answers. Asking only when few updates are
left unanswered costs no latency (they would wait in the queue anyway) and brings back
everything that arrived meanwhile in one batch. The wait sits in the getUpdates request rather
than in a bounded queue: cancelled while waiting, nothing has been fetched, so stopping never
drops or repeats an update.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.transport import AiohttpRequest

# The kinds of update the bot asks Telegram for; it never sees the others. Edited messages are
# not commands (an edited /subscribe must not subscribe again) and channel posts are not
# conversations, so neither is asked for.
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
# Enough to keep Telegram's 30 messages a second going at a 250 ms round trip.
CONCURRENT_UPDATES = 8
# Fetch again once this few updates are left unanswered: enough to keep every slot busy while
# the next batch is on its way.
LOW_WATER = 2 * CONCURRENT_UPDATES
# PTB's own cap on updates in hand, waiting ones included; the fetching above keeps far below it.
_PTB_CAP = 4096


class UpdateQueue(asyncio.Queue[object]):
    """The application's update queue; it knows how many updates are not yet answered.

    PTB marks an update done (``task_done``) when its handlers have finished, so the count
    covers updates waiting in the queue, waiting for their chat and being answered.
    """

    def __init__(self, low_water: int = LOW_WATER) -> None:
        super().__init__()
        self._low_water = low_water
        self._open = 0
        self._low = asyncio.Event()
        self._low.set()

    def put_nowait(self, item: object) -> None:
        super().put_nowait(item)
        self._open += 1
        if self._open > self._low_water:
            self._low.clear()

    def task_done(self) -> None:
        super().task_done()
        self._open -= 1
        if self._open <= self._low_water:
            self._low.set()

    async def running_low(self) -> None:
        """Until few enough updates are unanswered that the next batch should be on its way."""
        await self._low.wait()


class PatientPolling(AiohttpRequest):
    """The getUpdates connection: each request waits until the bot is running low on work."""

    def __init__(self, queue: UpdateQueue, *, read_timeout: float) -> None:
        super().__init__(1, read_timeout=read_timeout)
        self._queue = queue

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        await self._queue.running_low()
        return await super().do_request(*args, **kwargs)


@dataclass(eq=False)
class _Line:
    """One chat's updates waiting their turn."""

    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


class ChatOrder(BaseUpdateProcessor):
    """Up to `slots` updates at once, never two of the same chat, each chat's in order.

    A chat whose updates wait for each other holds one slot, not one per update: the slots are
    taken after the chat's turn comes (asyncio's locks are first come, first served).
    """

    def __init__(self, slots: int = CONCURRENT_UPDATES) -> None:
        super().__init__(max(slots, _PTB_CAP))
        self.slots = slots
        self._free = asyncio.Semaphore(slots)
        self._lines: dict[int, _Line] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_of(update)
        if key is None:
            async with self._free:
                await coroutine
            return
        line = self._lines.setdefault(key, _Line())
        line.waiting += 1
        try:
            async with line.turn, self._free:
                await coroutine
        finally:
            line.waiting -= 1
            if not line.waiting:
                del self._lines[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to let go of: PTB waits for the updates in hand before shutting down."""


def _chat_of(update: object) -> int | None:
    """The conversation an update belongs to: its chat, or its user for inline queries."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None
