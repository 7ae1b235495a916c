"""How updates get worked on once fetched: side by side across chats, in order within one.

Answering one update at a time caps a bot at one answer per network round trip (about ten a
second against the real Telegram, far below its 30 messages a second), so updates from
different chats run side by side, up to CONCURRENT_UPDATES at once. One chat's updates still run
one after another, in the order they came: a quick second press must not overtake the first,
and a guided conversation must see its steps in order.

Fetching waits for room, counted in chats, not updates. Asking only when few chats have work
costs no latency (their updates would wait anyway) and brings back everything that arrived
meanwhile in one batch rather than a round trip per update. A chat's backlog counts once,
however deep: forty commands waiting on one chat's pace must not keep another user's /help
from being fetched.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from telegram import Update

log = logging.getLogger(__name__)

# The kinds of update the bot asks Telegram for; it never sees the others. Edited messages are
# not commands (an edited /subscribe must not subscribe again) and channel posts are not
# conversations, so neither is asked for.
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member")
# Enough to keep Telegram's 30 messages a second going at a 250 ms round trip.
CONCURRENT_UPDATES = 8
# Fetch again once this few chats have work: enough to keep every slot busy while the next
# batch is on its way.
LOW_WATER = 2 * CONCURRENT_UPDATES
# Updates in hand at most, however few chats they belong to: a bound on memory. Past it, one
# chat's flood would delay the others; it is far beyond what a chat can send (Telegram lets a
# user send about one message a second).
MOST_IN_HAND = 4096

Work = Callable[[], Awaitable[object]]


@dataclass(eq=False)
class _Line:
    """One chat's updates waiting their turn."""

    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


class ChatOrder:
    """Up to `slots` updates at once, never two of the same chat, each chat's in order.

    A chat whose updates wait for each other holds one slot, not one per update: the slots are
    taken after the chat's turn comes (asyncio's locks are first come, first served).
    """

    def __init__(self, slots: int | None = None) -> None:
        # Read when made, not when defined: a benchmark tries other numbers by setting it.
        self.slots = slots or CONCURRENT_UPDATES
        self._free = asyncio.Semaphore(self.slots)
        self._lines: dict[int, _Line] = {}
        self.closed = False

    async def run(self, update: object, work: Work) -> bool:
        """Do `work` for `update` in its turn; False if the order closed before its turn came."""
        key = _chat_of(update)
        if key is None:
            async with self._free:
                return await self._start(work)
        line = self._lines.setdefault(key, _Line())
        line.waiting += 1
        try:
            async with line.turn, self._free:
                return await self._start(work)
        finally:
            line.waiting -= 1
            if not line.waiting:
                del self._lines[key]

    async def _start(self, work: Work) -> bool:
        if self.closed:
            return False
        await work()
        return True


class Intake:
    """The updates in hand, each on its way through ChatOrder to `handle`.

    It says when there is room for the next fetch, and which updates have been handled and
    not yet forgotten (their inbox rows can go).
    """

    def __init__(
        self,
        handle: Callable[[Update], Awaitable[object]],
        *,
        order: ChatOrder | None = None,
        low_water: int = LOW_WATER,
        most: int = MOST_IN_HAND,
    ) -> None:
        self._handle = handle
        self.order = order or ChatOrder()
        self._low_water, self._most = low_water, most
        self._tasks: dict[int, asyncio.Task[None]] = {}
        # Updates in hand by chat (an update of no chat counts alone): the chats with work.
        self._busy: Counter[object] = Counter()
        self.handled: set[int] = set()
        self.some_handled = asyncio.Event()
        self._changed = asyncio.Event()

    def __contains__(self, update_id: int) -> bool:
        return update_id in self._tasks

    def take(self, update: Update) -> None:
        """Start on `update`: it runs when its chat's turn and a free slot come."""
        key = _chat_of(update)
        self._busy[("update", update.update_id) if key is None else key] += 1
        task = asyncio.create_task(self._work_on(update, key), name=f"update {update.update_id}")
        self._tasks[update.update_id] = task

    async def room(self) -> None:
        """Until few enough chats have work that the next batch should be on its way."""
        while not self.has_room():
            self._changed.clear()
            await self._changed.wait()

    def forgotten(self, update_ids: set[int]) -> None:
        """These handled updates are out of the inbox."""
        self.handled -= update_ids
        if not self.handled:
            self.some_handled.clear()

    async def stop(self, grace: float) -> None:
        """Start nothing more; let what runs finish for up to `grace` seconds, then cancel it.

        What did not finish stays in the inbox and runs again at the next start.
        """
        self.order.closed = True
        tasks = list(self._tasks.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            if late:
                log.warning("stopped %d update(s) mid-way; they run at the next start", len(late))

    async def settled(self) -> None:
        """Until no update is in hand: what was fetched has been handled or given up."""
        while self._tasks:
            self._changed.clear()
            await self._changed.wait()

    def has_room(self) -> bool:
        """Whether few enough chats have work for the next batch to be on its way."""
        return len(self._busy) <= self._low_water and len(self._tasks) < self._most

    async def _work_on(self, update: Update, key: int | None) -> None:
        try:
            if await self.order.run(update, lambda: self._handle(update)):
                self._done(update.update_id)
        except Exception:
            # PTB's process_update hands handler errors to the error handlers; this is worse.
            log.exception("update %d could not be handled", update.update_id)
            self._done(update.update_id)
        finally:
            del self._tasks[update.update_id]
            self._busy -= Counter({("update", update.update_id) if key is None else key: 1})
            self._changed.set()

    def _done(self, update_id: int) -> None:
        self.handled.add(update_id)
        self.some_handled.set()


def _chat_of(update: object) -> int | None:
    """The conversation an update belongs to: its chat, or its user for inline queries."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None
