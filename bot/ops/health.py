"""What /readyz checks and /metrics reads at scrape time, from the running bot's state.

Ready means: the database answers, its migrations are at head, the Bot API answered with
success within the last minute, and the digest tick ran within two ticks. Every time is the
bot's injected clock, so tests can move it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from bot.context import BotData
from storage import ledger
from storage.db import head_revision, schema_revision

# Longer than the bot's long poll (10 s) and its backoff's first waits: a quiet bot still
# polls, and each poll is an answer; by webhook it asks getWebhookInfo every 30 s instead
# (bot/webhook/service.py).
API_SILENCE = timedelta(minutes=1)
# A database slower than this to answer a SELECT 1 is not ready.
DATABASE_TIMEOUT = 5.0


async def failed_checks(data: BotData) -> list[str]:
    """What /readyz reports: one line per check that failed, none if the bot is ready."""
    failed = []
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT), data.sessions() as session:
            revision = await schema_revision(session)
    except (SQLAlchemyError, OSError, TimeoutError) as error:
        failed.append(f"database: no answer to SELECT 1 ({type(error).__name__})")
    else:
        if revision != head_revision():
            failed.append(f"migrations: the database is at {revision}, not {head_revision()}")
    metrics = data.metrics
    now = data.clock.now()
    if metrics.api_answered_at is None or now - metrics.api_answered_at > API_SILENCE:
        failed.append("telegram: no successful Bot API answer within the last minute")
    tick = data.settings.digest.tick
    if now - metrics.ticked_at > 2 * tick:
        failed.append(f"digest: no tick within two ticks ({int(2 * tick.total_seconds())} s)")
    return failed


async def scrape(data: BotData, pacing_waiting: Callable[[], int]) -> bytes:
    """The metrics, with the gauges that are read at scrape time set first."""
    metrics = data.metrics
    async with data.sessions() as session:
        backlog = await ledger.backlog(session)
    lag = 0.0
    if backlog.oldest_due is not None:
        lag = max(0.0, (data.clock.now() - backlog.oldest_due).total_seconds())
    metrics.digest_lag.set(lag)
    metrics.ledger_pending.set(backlog.pending)
    metrics.pacing_queue.set(pacing_waiting())
    return metrics.exposition()
