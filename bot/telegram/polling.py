"""Fetching updates: the bot's own long-polling loop, which outlives outages and bad updates.

PTB's Updater stops fetching for good after one 401 or 404 and leaves the process up with
nobody listening, and it reads a batch as one: an update it cannot parse fails the whole batch,
again and again with no pause. Here each failure is weighed by what retrying fixes. The network
and the server's own errors pass: the loop tries again with a growing pause, one log line per
attempt. A 404 passes for a while (a local Bot API server answers it while it restarts). A
refused token or a redirect loop does not: the loop ends with one line saying what to fix, and
the process exits non-zero for its supervisor. An update PTB cannot read is skipped with one
line and confirmed like the others.

Each batch is kept in the inbox before it is confirmed (the next fetch's offset confirms it), by
the reception the webhook shares (bot/telegram/reception.py), so fetching can go on past a chat
whose backlog waits on its pace, and an update in hand at a stop or a crash runs at the next
start. A stop confirms what was fetched, as the next fetch would
have, so that an update answered just before it is not given again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

from telegram.error import InvalidToken, RetryAfter, TelegramError

from bot.context import App
from bot.telegram.intake import ALLOWED_UPDATES
from bot.telegram.reception import Reception
from bot.telegram.transport import RedirectLoop

log = logging.getLogger(__name__)

# A long poll's answer may take its whole timeout; this much more is the network's (the
# getUpdates connection's read timeout is the poll's timeout plus this).
READ_SLACK = 5.0
# How long a stop waits for Telegram to take the last confirmation.
CONFIRM_TIMEOUT = 1.0


class Unrecoverable(Exception):
    """Retrying cannot fix this; the message is the one line that says what to fix."""


class Interrupted(Exception):
    """The bot was told to stop before it could reach the Bot API."""


@dataclass(frozen=True)
class Backoff:
    """How long to wait between attempts, and how long a 404 may last."""

    first: float = 1.0
    most: float = 30.0
    # 404s in a row before giving up: with the pauses above, about half a minute.
    missing_attempts: int = 6


class Outage:
    """Failures in a row to reach the Bot API, and what the next one calls for."""

    def __init__(self, app: App, backoff: Backoff) -> None:
        self._base_url = app.bot_data.settings.base_url
        self._backoff = backoff
        self._failures = 0
        self._missing = 0

    def over(self) -> None:
        """The Bot API answered."""
        self._failures = self._missing = 0

    def pause_after(self, error: TelegramError, doing: str) -> float:
        """Seconds to wait before the next attempt, logged; Unrecoverable if none would help."""
        self._failures += 1
        if isinstance(error, InvalidToken) and _says(error, "Unauthorized"):
            raise Unrecoverable(
                "telegram.token: the Bot API refused the token (401 Unauthorized): it was "
                "revoked or mistyped; set the current one from @BotFather in COOPBOT_TOKEN"
            )
        if isinstance(error, RedirectLoop):
            raise Unrecoverable(
                f"telegram.base_url: {self._base_url} redirects in a loop; point it at the "
                "Bot API itself (e.g. https://api.telegram.org/bot)"
            )
        if isinstance(error, RetryAfter):
            asked = error.retry_after
            seconds = float(asked) if isinstance(asked, int) else asked.total_seconds()
            log.warning("%s: the Bot API asks to wait %.0f s", doing, seconds)
            return seconds
        pause: float = min(self._backoff.most, self._backoff.first * 2 ** (self._failures - 1))
        if _is_missing(error):
            self._missing += 1
            if self._missing >= self._backoff.missing_attempts:
                raise Unrecoverable(
                    f"telegram.base_url: {self._base_url} answers 404 Not Found for the bot's "
                    f"methods ({self._missing} times in a row); check that it ends in /bot "
                    "(e.g. https://api.telegram.org/bot) and that the Bot API server is up"
                )
        log.warning(
            "%s failed (attempt %d): %s; trying again in %.0f s",
            doing,
            self._failures,
            _reason(error),
            pause,
        )
        return pause


async def connect(app: App, backoff: Backoff) -> None:
    """The bot initialised (its connections open, getMe answered), however long that takes.

    Raises Unrecoverable for what retrying cannot fix and Interrupted if the bot is told to
    stop first; either way its connections are closed again.
    """
    outage = Outage(app, backoff)
    stopping = app.bot_data.stopping
    while True:
        try:
            if await _unless_stopped(stopping, app.bot.initialize()):
                return
            pause = None
        except TelegramError as error:
            try:
                pause = outage.pause_after(error, "reaching the Bot API")
            except Unrecoverable:
                await app.bot.shutdown()
                raise
        if pause is None or await _stopped_within(stopping, pause):
            await app.bot.shutdown()
            raise Interrupted


class Poller:
    """The fetch loop: each batch kept and handed over by the reception, then confirmed."""

    def __init__(
        self, app: App, reception: Reception, *, poll_timeout: float, backoff: Backoff
    ) -> None:
        self._app, self._reception = app, reception
        self._poll_timeout = poll_timeout
        self._backoff = backoff
        # Every update below this id is in the inbox or handled: the offset to confirm at a stop.
        self._kept_below: int | None = None

    async def run(self) -> None:
        """Fetch until cancelled; Unrecoverable when retrying cannot help."""
        await self._delete_webhook()
        offset = self._kept_below = await self._reception.replay()
        forgetting = asyncio.create_task(
            self._reception.forget_as_handled(), name="forgetting updates"
        )
        try:
            await self._fetch_from(offset)
        finally:
            forgetting.cancel()
            await asyncio.gather(forgetting, return_exceptions=True)

    async def confirm(self) -> None:
        """At a stop, tell Telegram that what was fetched is in hand, as the next fetch would
        have: an update answered since the last fetch is then not given (and answered) again
        at the next start. Bounded, so that a Bot API gone quiet cannot hold the stop."""
        if self._kept_below is None:
            return
        data = {"offset": self._kept_below, "timeout": 0, "limit": 1}
        try:
            async with asyncio.timeout(CONFIRM_TIMEOUT):
                await self._app.bot._post("getUpdates", data)
        except TelegramError as error:
            log.info("could not confirm the last updates at the stop (%s)", _reason(error))
        except TimeoutError:
            log.info("could not confirm the last updates at the stop (no answer in time)")

    async def _delete_webhook(self) -> None:
        """Switch Telegram back from a webhook, if one is set (getUpdates answers 409 while it
        is), keeping the updates it holds: they are fetched next."""
        outage = Outage(self._app, self._backoff)
        while True:
            try:
                await self._app.bot.delete_webhook(drop_pending_updates=False)
                return
            except TelegramError as error:
                await asyncio.sleep(outage.pause_after(error, "deleting the webhook"))

    async def _fetch_from(self, offset: int | None) -> None:
        outage = Outage(self._app, self._backoff)
        intake = self._reception.intake
        while True:
            await intake.room()
            try:
                batch = await self._fetch(offset)
            except TelegramError as error:
                await asyncio.sleep(outage.pause_after(error, "fetching updates"))
                continue
            outage.over()
            ids = [item["update_id"] for item in batch if isinstance(item.get("update_id"), int)]
            if not ids:
                continue
            offset = max(ids) + 1
            await self._reception.take(batch)
            self._kept_below = offset

    async def _fetch(self, offset: int | None) -> Sequence[dict[str, Any]]:
        """One long poll, as raw JSON: each update is read on its own."""
        data: dict[str, Any] = {
            "timeout": int(self._poll_timeout),
            "allowed_updates": list(ALLOWED_UPDATES),
        }
        if offset is not None:
            data["offset"] = offset
        # Bot._post is PTB's path for every method (the request, its error mapping); only
        # get_updates' reading of the whole batch at once is left out.
        result = await self._app.bot._post("getUpdates", data)
        return [item for item in result if isinstance(item, dict)]


def _says(error: TelegramError, word: str) -> bool:
    """PTB wraps getMe's InvalidToken in one of its own; the server's words are in the cause."""
    return word in str(error) or word in str(error.__cause__ or "")


def _is_missing(error: TelegramError) -> bool:
    """A 404, or an answer that is not the Bot API's JSON (a web page where it should be)."""
    return isinstance(error, InvalidToken) or "Invalid server response" in str(error)


def _reason(error: TelegramError) -> str:
    if isinstance(error, InvalidToken):
        return "404 Not Found"
    return f"{type(error).__name__}: {error}"


async def _unless_stopped(stopping: asyncio.Event, work: Awaitable[None]) -> bool:
    """Do `work`, unless `stopping` is set first (then it is cancelled): whether it was done."""
    task = asyncio.ensure_future(work)
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
    if task.done():
        task.result()
        return True
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return False


async def _stopped_within(stopping: asyncio.Event, seconds: float) -> bool:
    """Whether `stopping` is set within `seconds`."""
    try:
        await asyncio.wait_for(stopping.wait(), seconds)
    except TimeoutError:
        return False
    return True
