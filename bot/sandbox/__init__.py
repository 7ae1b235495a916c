"""``coopbot sandbox``: a terminal chat with the real bot, offline, against the Bot API emulator.

``chat`` runs the bot and the conversation, ``screen`` is what the terminal shows, ``text`` lays
a message's text and entities out for a terminal, and ``files`` is what the sandbox keeps on
this machine (its database, the files the bot sends).
"""

from bot.sandbox.chat import run_sandbox, sandbox_storage_url
from bot.sandbox.text import render_text

__all__ = ["render_text", "run_sandbox", "sandbox_storage_url"]
