"""Webhook mode's counterpart of the Poller: listen, then tell Telegram where to push.

The order matters. The server listens first, so that Telegram's first push (it sends what it
holds at once) finds it; the updates the last run kept are handed over before that, so that a
push of one of them again is known. Then setWebhook, with the secret, the kinds of update the
bot asks for and max_connections. At a stop the webhook stays set: Telegram keeps the updates
that come meanwhile and pushes them to the next start. There is nothing to confirm: each update
was answered 200 once it was kept.

Without a long poll, "the Bot API answered within the last minute" (/readyz) would hang on
whether anyone spoke to the bot. So the bot asks getWebhookInfo every WATCH_EVERY: an answer is
an honest sign the Bot API is reachable, and what it says is logged when it matters (another
URL set by someone else, Telegram's last failure to deliver). It does not prove that Telegram
reaches the bot: only getWebhookInfo's last error, logged, says that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from aiohttp import web
from telegram.error import BadRequest, TelegramError

from bot.context import App
from bot.ops.server import CannotListen, OpsServer
from bot.telegram.intake import ALLOWED_UPDATES
from bot.telegram.polling import Backoff, Outage, Unrecoverable
from bot.telegram.reception import Reception
from bot.webhook.receiver import WebhookReceiver
from bot.webhook.settings import WebhookSettings

log = logging.getLogger(__name__)

# Half of /readyz's minute: one lost answer does not make the bot unready.
WATCH_EVERY = 30.0


class Webhook:
    """The webhook's server and registration, from run() until cancelled."""

    def __init__(
        self,
        app: App,
        reception: Reception,
        settings: WebhookSettings,
        server_for: Callable[[Sequence[web.RouteDef]], OpsServer],
        *,
        backoff: Backoff,
    ) -> None:
        self._app, self._reception, self._settings = app, reception, settings
        self._server_for = server_for
        self._backoff = backoff
        self._last_error: datetime | None = None

    async def run(self) -> None:
        """Serve until cancelled; Unrecoverable when retrying cannot help."""
        await self._reception.replay()
        hook = self._settings
        receiver = WebhookReceiver(self._reception, hook.secret.reveal(), hook.path)
        server = self._server_for(receiver.routes())
        try:
            await server.start()
        except CannotListen as error:
            raise Unrecoverable(
                f"telegram.webhook_listen: {error}; choose a free port, or this machine's "
                "address, in [telegram] webhook_listen"
            ) from None
        self._app.bot_data.ops_server = server
        forgetting = asyncio.create_task(
            self._reception.forget_as_handled(), name="forgetting updates"
        )
        try:
            await self._set_webhook()
            log.info("Telegram pushes updates to %s", hook.url)
            await self._watch()
        finally:
            forgetting.cancel()
            await asyncio.gather(forgetting, return_exceptions=True)
            await server.stop()

    async def confirm(self) -> None:
        """Nothing to confirm at a stop: every update taken was answered 200."""

    async def _set_webhook(self) -> None:
        hook = self._settings
        outage = Outage(self._app, self._backoff)
        while True:
            try:
                await self._app.bot.set_webhook(
                    hook.url,
                    secret_token=hook.secret.reveal(),
                    allowed_updates=list(ALLOWED_UPDATES),
                    max_connections=hook.max_connections,
                )
                return
            except BadRequest as error:
                raise Unrecoverable(
                    f"telegram.webhook_url: Telegram refused the webhook {hook.url} ({error})"
                ) from None
            except TelegramError as error:
                await asyncio.sleep(outage.pause_after(error, "setting the webhook"))

    async def _watch(self) -> None:
        """Ask getWebhookInfo every WATCH_EVERY, logging what an operator should know."""
        while True:
            await asyncio.sleep(WATCH_EVERY)
            try:
                info = await self._app.bot.get_webhook_info()
            except TelegramError as error:
                log.info("getWebhookInfo failed (%s: %s)", type(error).__name__, error)
                continue
            if info.url != self._settings.url:
                log.warning(
                    "Telegram's webhook is %r, not %s: was it changed elsewhere? Updates go "
                    "there until coopbot restarts",
                    info.url,
                    self._settings.url,
                )
            if info.last_error_date is not None and info.last_error_date != self._last_error:
                self._last_error = info.last_error_date
                log.warning(
                    "Telegram could not deliver to the webhook at %s: %s (%d update(s) waiting)",
                    info.last_error_date.isoformat(),
                    info.last_error_message,
                    info.pending_update_count,
                )
