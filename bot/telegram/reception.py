"""Updates from Telegram, however they come (fetched by polling, or pushed to the webhook): kept
in the inbox, then handed to the intake, and their rows forgotten once they are handled.

One mechanism for both ways in, so that both keep the same promise: an update is in the inbox
before Telegram is told it is in hand (the next getUpdates offset, or the webhook's 200), so a
crash loses nothing, and it runs again at the next start. Each update is taken once. Telegram
gives one again when it did not hear that it was received (a lost 200, a timed-out push): one
in hand, handled and not yet forgotten, or forgotten among the last RECENT is not taken again.
A retry that comes after a restart, of an update handled and forgotten before it, runs again,
as a polled update handled just before a crash runs again: the window is a lost answer and a
restart in the moments between.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Iterable
from typing import Any

from telegram import Update

from bot.context import App
from bot.telegram.intake import Intake
from storage import inbox

log = logging.getLogger(__name__)

# Handled updates remembered once out of the inbox: far more than Telegram has in flight at
# once (max_connections is 100 at most), a few hundred kilobytes.
RECENT = 10_000


class Reception:
    """The inbox and the intake, kept in step."""

    def __init__(self, app: App, intake: Intake, *, recent: int = RECENT) -> None:
        self._app = app
        self.intake = intake
        self._sessions = app.bot_data.sessions
        self._recent: deque[int] = deque(maxlen=recent)
        self._recent_ids: set[int] = set()
        # Seen-or-not and the inbox write are one step: two pushes of one update at once (two
        # of Telegram's connections) must not both take it.
        self._taking = asyncio.Lock()

    def seen(self, update_id: int) -> bool:
        """Whether this update was taken already: in hand, handled, or handled recently."""
        intake = self.intake
        return update_id in intake or update_id in intake.handled or update_id in self._recent_ids

    async def take(self, items: Iterable[dict[str, Any]]) -> None:
        """Keep the updates among `items` not seen already, then hand them to the intake.

        An item PTB cannot read is skipped with one line, as if handled.
        """
        async with self._taking:
            fresh: dict[int, tuple[dict[str, Any], Update]] = {}
            for item in items:
                update = self.read(item)
                if update is not None and not self.seen(update.update_id):
                    fresh.setdefault(update.update_id, (item, update))
            if not fresh:
                return
            payloads = {update_id: json.dumps(item) for update_id, (item, _) in fresh.items()}
            async with self._sessions.begin() as session:
                await inbox.keep(session, payloads)
            for _, update in fresh.values():
                self.intake.take(update)

    async def replay(self) -> int | None:
        """Hand over what the last run kept and did not handle; the id after the last of them."""
        async with self._sessions() as session:
            rows = await inbox.waiting(session)
        unreadable = []
        for row in rows:
            update = self.read(json.loads(row.payload))
            if update is None:
                unreadable.append(row.update_id)
            else:
                self.intake.take(update)
        if unreadable:
            async with self._sessions.begin() as session:
                await inbox.forget(session, unreadable)
        if rows:
            log.info("%d update(s) kept at the last stop are being handled now", len(rows))
        return rows[-1].update_id + 1 if rows else None

    async def forget_handled(self) -> None:
        """Drop the inbox rows of the updates handled so far; remember their ids a while."""
        done = set(self.intake.handled)
        if not done:
            return
        async with self._sessions.begin() as session:
            await inbox.forget(session, done)
        # Remembered before the intake lets go of them: no moment when neither knows them.
        for update_id in sorted(done):
            if len(self._recent) == self._recent.maxlen:
                self._recent_ids.discard(self._recent[0])
            self._recent.append(update_id)
            self._recent_ids.add(update_id)
        self.intake.forgotten(done)

    async def forget_as_handled(self) -> None:
        """Drop inbox rows as soon as their updates are handled, many in one write when busy:
        a handled update left in the inbox would run again after a crash. Until cancelled."""
        while True:
            await self.intake.some_handled.wait()
            await self.forget_handled()

    def read(self, item: dict[str, Any]) -> Update | None:
        """The update PTB makes of `item`, or None (logged once) if it cannot."""
        # Whatever PTB raises for it, the update is skipped.
        try:
            return Update.de_json(item, self._app.bot)
        except Exception as error:
            kinds = ", ".join(key for key in item if key != "update_id") or "empty"
            log.warning(
                "skipped update %s (%s): python-telegram-bot cannot read it (%s: %s)",
                item.get("update_id"),
                kinds,
                type(error).__name__,
                error,
            )
            return None
