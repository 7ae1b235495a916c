"""A Telegram Bot API server on loopback: tests and the sandbox run the real PTB stack over HTTP.

It keeps users, chats, the bot's messages and the update queue in memory, answers the methods
the bot uses the way Telegram does (its errors included), and lets the caller inject user
actions, faults and rate limits, then wait for the bot's answers without sleeping.
"""

from bot.emulator.emulator import BotApiEmulator, ChatSession
from bot.emulator.limits import RateLimits
from bot.emulator.values import ApiError, Button, CallbackAnswer, SentMessage, User

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "Button",
    "CallbackAnswer",
    "ChatSession",
    "RateLimits",
    "SentMessage",
    "User",
]
