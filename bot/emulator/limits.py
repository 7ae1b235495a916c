"""Telegram's send limits, enforced as strict sliding windows on an injected clock."""

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bot.emulator.values import ApiError


@dataclass(frozen=True)
class RateLimits:
    """Telegram's published send limits, enforced as strict sliding windows; None turns one off."""

    per_second: int | None = 30
    per_chat_per_second: int | None = 1
    per_group_per_minute: int | None = 20


class RateLimiter:
    """The send times in each window: the bot's, each chat's, and each group's per minute."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float]) -> None:
        self._limits = limits
        self._clock = clock
        self._windows: dict[tuple[str, int], deque[float]] = {}

    def take(self, chat_id: int) -> None:
        """Count a send to this chat, or refuse it with a 429 saying how long to wait."""
        limits, now = self._limits, self._clock()
        windows = [
            (("all", 0), limits.per_second, 1.0),
            (("chat", chat_id), limits.per_chat_per_second, 1.0),
        ]
        if chat_id < 0:
            windows.append((("group", chat_id), limits.per_group_per_minute, 60.0))
        wait = 0.0
        active: list[deque[float]] = []
        for key, limit, span in windows:
            if limit is None:
                continue
            stamps = self._windows.setdefault(key, deque())
            while stamps and stamps[0] <= now - span:
                stamps.popleft()
            if len(stamps) >= limit:
                wait = max(wait, stamps[len(stamps) - limit] + span - now)
            active.append(stamps)
        if wait > 0:
            raise ApiError.too_many_requests(max(1, math.ceil(wait)))
        for stamps in active:
            stamps.append(now)
