"""The bot the application runs: PTB's ExtBot, plus a send that does not read its answer back.

Telegram answers every sendMessage with the whole message it made, and PTB turns that into a
`Message` (entities, sender, chat: about 200 µs here). A reply needs nothing of it, and a
digest's fan-out, which sends thousands, spent a fifth of its time on it.
"""

from __future__ import annotations

from telegram.ext import ExtBot


class Courier(ExtBot[None]):
    """ExtBot with `deliver`: a message out, through the same defaults, pacing and errors."""

    async def deliver(self, chat_id: int, html: str) -> None:
        """Send `html` to the chat as send_message would, without building the answer."""
        defaults = self.defaults
        data = {
            "chat_id": chat_id,
            "text": html,
            "parse_mode": defaults.parse_mode if defaults else None,
            "link_preview_options": defaults.link_preview_options if defaults else None,
        }
        # Bot._post is PTB's own path for every method: defaults, the rate limiter, the request
        # and its error mapping (RetryAfter, Forbidden, ChatMigrated ...); only the parsing of
        # the result into a Message, which send_message adds after it, is left out.
        await self._post("sendMessage", data)
