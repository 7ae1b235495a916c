"""The bot the application runs: PTB's ExtBot, plus a send that does not read its answer back.

Telegram answers every sendMessage with the whole message it made, and PTB turns that into a
`Message` (entities, sender, chat: about 200 µs here). A reply needs nothing of it, and a
digest's fan-out, which sends thousands, spent a fifth of its time on it.
"""

from __future__ import annotations

import json

from telegram.ext import ExtBot


class Courier(ExtBot[None]):
    """ExtBot with `deliver`: a message out, through the same defaults, pacing and errors."""

    _wire_defaults: dict[str, str] | None = None

    async def deliver(self, chat_id: int, html: str) -> None:
        """Send `html` to the chat as send_message would, without building the answer."""
        data = {"chat_id": chat_id, "text": html, **self._message_defaults()}
        # Bot._post is PTB's own path for every method: defaults, the rate limiter, the request
        # and its error mapping (RetryAfter, Forbidden, ChatMigrated ...); only the parsing of
        # the result into a Message, which send_message adds after it, is left out.
        await self._post("sendMessage", data)

    def _message_defaults(self) -> dict[str, str]:
        """The defaults send_message would add, in their wire form, worked out once: built
        per send, the link preview options cost a new object and a JSON dump each time.
        """
        if self._wire_defaults is None:
            wire = {}
            defaults = self.defaults
            if defaults is not None and defaults.parse_mode is not None:
                wire["parse_mode"] = defaults.parse_mode
            if defaults is not None and defaults.link_preview_options is not None:
                options = defaults.link_preview_options.to_dict()
                wire["link_preview_options"] = json.dumps(options)
            self._wire_defaults = wire
        return self._wire_defaults
