"""The application's handlers and updates, counted and timed into the metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, ConversationHandler

from bot.ops.metrics import Metrics

Callback = Callable[[Any, Any], Coroutine[Any, Any, Any]]


def time_handlers(handlers: Iterable[BaseHandler[Any, Any, Any]], metrics: Metrics) -> None:
    """Wrap each handler's callback (a conversation's steps too) to count and time it, under
    the callback's own name: callbacks are named by what they do (show_facilities)."""
    for handler in handlers:
        if isinstance(handler, ConversationHandler):
            steps = [*handler.entry_points, *handler.fallbacks]
            steps += [step for state in handler.states.values() for step in state]
            time_handlers(steps, metrics)
        else:
            handler.callback = _timed(handler.callback, metrics)


def _timed(callback: Callback, metrics: Metrics) -> Callback:
    name = getattr(callback, "__name__", type(callback).__name__)

    async def timed(update: Any, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return await callback(update, context)
        finally:
            metrics.ran(update, name, time.perf_counter() - start)

    timed.__name__ = name
    return timed


def counting(
    handle: Callable[[Update], Awaitable[object]], metrics: Metrics
) -> Callable[[Update], Awaitable[object]]:
    """`handle`, counting each update by its type first."""

    async def counted(update: Update) -> object:
        metrics.took(update)
        return await handle(update)

    return counted
