"""What the bot counts and times, on a Prometheus registry of its own.

Each application has its own registry, not prometheus-client's global one: tests, and a
process that runs several bots, would otherwise count into each other's numbers. No label
holds a chat id, a user id or the token: the labels are update kinds, handler names, Bot API
method names, result classes, digest kinds and delivery statuses, each a short fixed list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from telegram import Update
from telegram.constants import UpdateType

from bot.clock import Clock

# A method name as the Bot API spells them; anything else in a URL's last part is a file's
# path (a download), which is not a label.
_METHOD = re.compile(r"[A-Za-z]{1,40}")
# Telegram's waits run from a second to hours.
_RETRY_AFTER_BUCKETS = (1, 5, 15, 30, 60, 300, 900, 3600)


class Metrics:
    """The counters the bot moves as it works, and the gauges set at each scrape."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.registry = registry = CollectorRegistry()
        # When the Bot API last answered a request with success; /readyz looks at it.
        self.api_answered_at: datetime | None = None
        # When the digest tick last ran; its start counts as one, so /readyz gives a new bot
        # its first two ticks.
        self.ticked_at: datetime = clock.now()
        self.updates = Counter(
            "coopbot_updates", "Updates taken in, by type.", ["type"], registry=registry
        )
        self.handled = Counter(
            "coopbot_handler_calls",
            "Handler callbacks run, by update type and handler.",
            ["type", "handler"],
            registry=registry,
        )
        self.handler_seconds = Histogram(
            "coopbot_handler_seconds",
            "How long each handler callback took.",
            ["handler"],
            registry=registry,
        )
        self.api_calls = Counter(
            "coopbot_bot_api_calls",
            "Bot API requests, by method and result (ok, rejected, flood, server_error, "
            "unanswered).",
            ["method", "result"],
            registry=registry,
        )
        self.retry_after = Histogram(
            "coopbot_bot_api_retry_after_seconds",
            "The wait each 429 (flood control) answer asked for.",
            buckets=_RETRY_AFTER_BUCKETS,
            registry=registry,
        )
        self.deliveries = Counter(
            "coopbot_deliveries",
            "Digest deliveries marked in the ledger, by digest kind and status.",
            ["kind", "status"],
            registry=registry,
        )
        self.digest_lag = Gauge(
            "coopbot_digest_lag_seconds",
            "Now minus the due time of the oldest pending delivery (0 when none is overdue).",
            registry=registry,
        )
        self.ledger_pending = Gauge(
            "coopbot_ledger_pending", "Deliveries pending in the ledger.", registry=registry
        )
        self.pacing_queue = Gauge(
            "coopbot_pacing_queue",
            "Sends waiting in the pacing's line for their turn.",
            registry=registry,
        )

    def took(self, update: Update) -> None:
        """An update came in."""
        self.updates.labels(update_type(update)).inc()

    def ran(self, update: object, handler: str, seconds: float) -> None:
        """A handler's callback ran for an update, for `seconds`."""
        kind = update_type(update) if isinstance(update, Update) else "other"
        self.handled.labels(kind, handler).inc()
        self.handler_seconds.labels(handler).observe(seconds)

    def answered(self, url: str, status: int | None, payload: bytes = b"") -> None:
        """The Bot API answered a request with `status` (None: no answer came)."""
        method = url.rsplit("/", 1)[-1]
        if "/file/bot" in url or not _METHOD.fullmatch(method):
            method = "file"
        self.api_calls.labels(method, _result(status)).inc()
        if status == 200:
            self.api_answered_at = self.clock.now()
        elif status == 429:
            self.retry_after.observe(_retry_after(payload))

    def ticked(self, moment: datetime) -> None:
        """The digest tick ran."""
        self.ticked_at = moment

    def delivered(self, kind: str, statuses: Iterable[str]) -> None:
        """Deliveries of a digest of `kind` were marked."""
        for status in statuses:
            self.deliveries.labels(kind, status).inc()

    def exposition(self) -> bytes:
        """Everything, in Prometheus' text format."""
        return generate_latest(self.registry)


def update_type(update: Update) -> str:
    """The kind of an update, as allowed_updates names it."""
    return next((kind.value for kind in UpdateType if getattr(update, kind.value, None)), "other")


def _result(status: int | None) -> str:
    if status is None:
        return "unanswered"
    if status == 200:
        return "ok"
    if status == 429:
        return "flood"
    return "server_error" if status >= 500 else "rejected"


def _retry_after(payload: bytes) -> float:
    """The wait a 429 answer asks for, in seconds (0 if it says none)."""
    try:
        answer = json.loads(payload)
        return float(answer["parameters"]["retry_after"])
    except (ValueError, KeyError, TypeError):
        return 0.0
