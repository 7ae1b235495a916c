"""``t.me/<bot>?start=<payload>`` links that open a section of the bot directly."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import CommandHandler, filters

from bot.context import Context


def deep_link(
    payload: str, callback: Callable[[Update, Context], Coroutine[Any, Any, None]]
) -> CommandHandler[Context, Any]:
    """A /start handler for one payload; register it before the plain /start handler."""
    pattern = re.compile(rf"^/start(@\w+)?\s+{re.escape(payload)}\s*$")
    return CommandHandler("start", callback, filters=filters.Regex(pattern))
