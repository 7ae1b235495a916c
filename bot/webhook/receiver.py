"""The webhook's endpoint: Telegram POSTs each update here, as JSON, with the secret header.

Answers, and why: 403 without the right ``X-Telegram-Bot-Api-Secret-Token`` (compared in
constant time), before the body is read, so that nobody else can queue anything; 400 for a body
over MAX_BODY or one that is not an update (Telegram sends none of these; whoever does gets no
further); 503 if the bot has had no room for an update for ROOM_WAIT (Telegram tries again
later, as the poller would have waited to fetch); else 200 once the update is kept in the inbox
(bot/telegram/reception.py): an update is never acknowledged before it is safe from a crash.

The path is the one of ``webhook_url``, not a secret: the header is the password, and a
password in a path ends up in every proxy's access log.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging

from aiohttp import web

from bot.telegram.reception import Reception

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# An update is a message's JSON: a text is at most 4,096 characters (16 KiB of UTF-8, with its
# entities and a quoted reply a few times that), files come as ids, never inline. 1 MiB is far
# beyond any update Telegram sends, and bounds what each of its connections (at most 100) may
# make the bot hold in memory.
MAX_BODY = 1024 * 1024
# How long a push may wait for room in the intake before Telegram is asked to try again.
ROOM_WAIT = 10.0


class WebhookReceiver:
    """POST handler for the webhook's path; the reception keeps and hands over what it takes."""

    def __init__(self, reception: Reception, secret: str, path: str) -> None:
        self._reception = reception
        self._secret = secret.encode()
        self.path = path

    def routes(self) -> list[web.RouteDef]:
        """The webhook's route: POST only (aiohttp answers 405 to anything else)."""
        return [web.post(self.path, self.receive)]

    async def receive(self, request: web.Request) -> web.Response:
        """Keep the update, then answer 200; or refuse it (see the module's docstring)."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            log.warning("refused a webhook request without the right secret token (403)")
            return web.Response(status=403, text="forbidden\n")
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _bad(f"the body is over {MAX_BODY} bytes")
        try:
            # The real read is bounded too (the application's client_max_size): a chunked body
            # has no Content-Length to check, and one may lie.
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _bad(f"the body is over {MAX_BODY} bytes")
        try:
            item = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _bad("the body is not JSON")
        update_id = item.get("update_id") if isinstance(item, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return _bad("the body is not an update (no update_id)")
        intake = self._reception.intake
        if not self._reception.seen(update_id) and not intake.has_room():
            try:
                async with asyncio.timeout(ROOM_WAIT):
                    await intake.room()
            except TimeoutError:
                return web.Response(status=503, text="busy\n", headers={"Retry-After": "5"})
        await self._reception.take([item])
        return web.Response(text="ok\n")


def _bad(reason: str) -> web.Response:
    log.warning("refused a webhook request (400): %s", reason)
    return web.Response(status=400, text=f"{reason}\n")
