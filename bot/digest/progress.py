"""A broadcast's progress message: one message in the admin's chat, edited as the fan-out goes.

The numbers come from the ledger, not from this process's memory, so after a restart the
fan-out that resumes the broadcast goes on editing the same message with the whole count.
Edits are spaced (EVERY of the injected clock, or EVERY_SENDS sends, whichever comes first)
and go through the rate limiter like any send, so they never outpace Telegram's edit limits.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, TelegramError

from bot.digest.engine import Engine
from bot.texts import texts_for
from storage import ledger
from storage.bot_models import Digest

log = logging.getLogger(__name__)

EVERY = timedelta(seconds=2)
EVERY_SENDS = 100


class Progress:
    """Edits a digest's progress message, if it has one; otherwise does nothing."""

    def __init__(self, engine: Engine, bot: Bot, digest: Digest) -> None:
        self._engine = engine
        self._bot = bot
        self._digest_id = digest.id
        self._chat_id = digest.progress_chat_id
        self._message_id = digest.progress_message_id
        self._shown_at = engine.clock.now()
        self._sends = 0

    async def sent(self, count: int) -> None:
        """After a few sends: show the numbers if it has been a while."""
        self._sends += count
        waited = self._engine.clock.now() - self._shown_at
        if self._sends >= EVERY_SENDS or waited >= EVERY:
            await self.show()

    async def show(self) -> None:
        """Show where the broadcast stands; "finished" once nothing is pending."""
        if self._chat_id is None or self._message_id is None:
            return
        self._shown_at, self._sends = self._engine.clock.now(), 0
        async with self._engine.sessions() as session:
            counts = await ledger.counts(session, digest_id=self._digest_id)
        t = texts_for(None)
        values = {**dataclasses.asdict(counts), "total": counts.total}
        if counts.remaining:
            text = t("broadcast.progress", **values)
        else:
            text = t("broadcast.finished", **values)
        try:
            await self._bot.edit_message_text(text, self._chat_id, self._message_id)
        except BadRequest as error:
            # Nothing new since the last edit; Telegram says so, and that is fine.
            if "not modified" not in error.message:
                log.warning("broadcast progress not shown: %s", error.message)
        except TelegramError as error:
            # The admin deleted the message or blocked the bot: the broadcast goes on regardless.
            log.warning("broadcast progress not shown: %s", error.message)
