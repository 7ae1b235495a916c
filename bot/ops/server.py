"""/healthz, /readyz and /metrics, on a small aiohttp server of their own in polling mode, and
on the webhook's server, with its route beside them, in webhook mode.

/healthz answers while the process lives; /readyz 200 if no check failed (bot/ops/health.py),
else 503 with each failed check on a line; /metrics the metrics in Prometheus' text format.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from bot.ops.listen import Listen

log = logging.getLogger(__name__)
_TEXT = "text/plain"
# In-flight requests get this long to finish at a stop (aiohttp's default is a minute): a push
# cut short is answered by no 200, so Telegram sends it again.
SHUTDOWN_TIMEOUT = 1.0


class CannotListen(Exception):
    """The server's address is taken, or not this machine's: its text says which, in a line."""


class OpsServer:
    """The three endpoints on `listen`, and any other `routes` (the webhook's), from start()
    to stop(); a request body may be at most `max_body` bytes."""

    def __init__(
        self,
        listen: Listen,
        failed: Callable[[], Awaitable[list[str]]],
        metrics: Callable[[], Awaitable[bytes]],
        *,
        routes: Sequence[web.RouteDef] = (),
        max_body: int = 1024**2,
    ) -> None:
        self.listen = listen
        self._failed = failed
        self._metrics = metrics
        self._routes = routes
        self._max_body = max_body
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen; an address in use or not this machine's raises CannotListen."""
        app = web.Application(client_max_size=self._max_body)
        app.add_routes(
            [
                web.get("/healthz", self._healthz),
                web.get("/readyz", self._readyz),
                web.get("/metrics", self._scrape),
                *self._routes,
            ]
        )
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.listen.host, self.listen.port).start()
        except OSError as error:
            await runner.cleanup()
            # asyncio's own text repeats the address: the system's says what went wrong.
            reason = os.strerror(error.errno) if error.errno else str(error)
            raise CannotListen(f"cannot listen on {self.listen} ({reason})") from None
        self._runner = runner
        log.info(
            "health and metrics%s on http://%s/", " and webhook" * bool(self._routes), self.listen
        )

    async def stop(self) -> None:
        """Stop listening."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n", content_type=_TEXT)

    async def _readyz(self, request: web.Request) -> web.Response:
        failed = await self._failed()
        if failed:
            return web.Response(status=503, text="\n".join(failed) + "\n", content_type=_TEXT)
        return web.Response(text="ready\n", content_type=_TEXT)

    async def _scrape(self, request: web.Request) -> web.Response:
        body = await self._metrics()
        # Prometheus' text format, version 0.0.4 (prometheus_client.CONTENT_TYPE_LATEST).
        return web.Response(
            body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
        )
