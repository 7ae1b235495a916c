"""Webhooks as Telegram runs them: setWebhook, deleteWebhook, getWebhookInfo, and the pushes.

While a webhook is set, getUpdates answers 409 and the queued updates are POSTed to it as
JSON, one at a time and in order, each with the secret header setWebhook was given. An update
leaves the queue only when the webhook answers 2xx; any other answer, or none (a connection
refused, reset or timed out), is tried again after a short pause that grows. Every attempt is
recorded, with its status, so a test can see a 403 or a retry happen without sleeping.
"""

import asyncio
import contextlib
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from bot.emulator.methods import Method
from bot.emulator.params import Params
from bot.emulator.store import DEFAULT_UPDATES, Signal, Store
from bot.emulator.values import ApiError, JsonDict
from bot.webhook.settings import is_loopback

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Short, for tests: Telegram's own pauses are seconds to minutes.
FIRST_PAUSE = 0.02
LONGEST_PAUSE = 0.5
# How long a push waits for the webhook's answer before it counts as none.
PUSH_TIMEOUT = 10.0


@dataclass(frozen=True)
class Attempt:
    """One push of one update: the webhook's status, None if it gave no answer."""

    update_id: int
    status: int | None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Hook:
    url: str
    secret: str | None
    max_connections: int
    allowed_updates: tuple[str, ...] | None


class Webhooks:
    """One bot's webhook: what setWebhook said, and the task that pushes the queue to it."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.hook: Hook | None = None
        self.attempts: list[Attempt] = []
        self.attempted = Signal()
        # What the pushes carry instead of the secret setWebhook gave, if set (None: no
        # header): a test's stand-in for a webhook whose secret changed under it.
        self.secret_override: str | None = None
        self.overriding = False
        self._last_error: tuple[int, str] | None = None
        self._task: asyncio.Task[None] | None = None

    def table(self) -> dict[str, Method]:
        """The three methods, by their Bot API names (merged into Methods' table)."""
        return {
            "setWebhook": self._set,
            "deleteWebhook": self._delete,
            "getWebhookInfo": self._info,
        }

    def override_secret(self, secret: str | None) -> None:
        """Push with this secret (None: with no header) until restore_secret()."""
        self.secret_override, self.overriding = secret, True

    def restore_secret(self) -> None:
        """Push with the secret setWebhook gave again."""
        self.secret_override, self.overriding = None, False

    async def wait_for_attempt(
        self,
        update_id: int,
        *,
        delivered: bool | None = None,
        status: int | None = None,
        after: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109 (a deadline, as in the emulator's other waits)
    ) -> Attempt:
        """The first push of `update_id` (that was delivered, or had `status`, if given) at
        index `after` or later in `attempts`."""

        def found() -> Attempt | None:
            for attempt in self.attempts[after:]:
                if attempt.update_id != update_id:
                    continue
                if delivered is not None and attempt.delivered != delivered:
                    continue
                if status is not None and attempt.status != status:
                    continue
                return attempt
            return None

        try:
            async with asyncio.timeout(timeout):
                await self.attempted.wait_until(lambda: found() is not None)
        except TimeoutError:
            seen = [a.status for a in self.attempts if a.update_id == update_id]
            raise TimeoutError(
                f"no such push of update {update_id} within {timeout}s (pushes: {seen})"
            ) from None
        attempt = found()
        assert attempt is not None
        return attempt

    async def stop(self) -> None:
        """Stop pushing (the emulator stops)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _set(self, params: Params) -> object:
        url = params.text("url") or ""
        if not url:
            # Telegram: an empty url removes the webhook.
            return await self._delete(params)
        parts = urlsplit(url)
        if parts.scheme != "https" and not is_loopback(parts.hostname or ""):
            raise ApiError.bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.text("secret_token")
        if secret is not None and not _SECRET.fullmatch(secret):
            raise ApiError.bad_request("bad webhook: secret token contains unallowed characters")
        connections = params.integer("max_connections") or 40
        if not 1 <= connections <= 100:
            raise ApiError.bad_request("bad webhook: max_connections must be from 1 to 100")
        allowed = params.json("allowed_updates")
        kinds = tuple(str(kind) for kind in allowed) if isinstance(allowed, list) else None
        if kinds is not None:
            self._store.allowed_updates = frozenset(kinds) or DEFAULT_UPDATES
        if params.flag("drop_pending_updates"):
            self._store.updates.clear()
        self.hook = Hook(url, secret, connections, kinds)
        self._store.webhook_url = url
        self._store.updates_arrived.pulse()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._push_all(), name="pushing updates")
        return True

    async def _delete(self, params: Params) -> object:
        if params.flag("drop_pending_updates"):
            self._store.updates.clear()
        self.hook = None
        self._store.webhook_url = ""
        self._store.updates_arrived.pulse()
        return True

    async def _info(self, params: Params) -> object:
        hook = self.hook
        info: JsonDict = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._store.updates),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            if hook.allowed_updates is not None:
                info["allowed_updates"] = list(hook.allowed_updates)
        if self._last_error is not None:
            info["last_error_date"], info["last_error_message"] = self._last_error
        return info

    async def _push_all(self) -> None:
        """Until the webhook is deleted or the emulator stops: the queue's head, pushed until
        it is delivered, then the next."""
        store = self._store
        pause = FIRST_PAUSE
        async with aiohttp.ClientSession() as session:
            while True:
                await store.updates_arrived.wait_until(
                    lambda: self.hook is None or store.closing or bool(store.updates)
                )
                hook = self.hook
                if hook is None or store.closing:
                    return
                update_id, update = store.updates[0]
                status = await self._push(session, hook, update)
                self.attempts.append(Attempt(update_id, status))
                self.attempted.pulse()
                if status is not None and 200 <= status < 300:
                    if store.updates and store.updates[0][0] == update_id:
                        store.updates.popleft()
                    pause = FIRST_PAUSE
                    continue
                reason = (
                    f"Wrong response from the webhook: {status}"
                    if status
                    else ("Connection refused")
                )
                self._last_error = (int(time.time()), reason)
                await asyncio.sleep(pause)
                pause = min(LONGEST_PAUSE, pause * 2)

    async def _push(
        self, session: aiohttp.ClientSession, hook: Hook, update: JsonDict
    ) -> int | None:
        secret = self.secret_override if self.overriding else hook.secret
        headers = {} if secret is None else {SECRET_HEADER: secret}
        timeout = aiohttp.ClientTimeout(total=PUSH_TIMEOUT)
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.post(hook.url, json=update, headers=headers, timeout=timeout) as r:
                await r.read()
                return r.status
        return None
