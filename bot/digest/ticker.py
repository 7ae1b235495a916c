"""The digest tick: plan what is due, then send what is pending, one tick at a time.

The tick runs on PTB's JobQueue, but the scheduler only wakes it: what is due is computed each
time from the database and the injected clock, so nothing is lost to a restart or to
APScheduler's misfire grace, and ``digest_tick`` can be called directly. A confirmed broadcast
does not wait for the next turn: it kicks the ticker (``Ticker.kick``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram.ext import CallbackContext, Job, JobQueue

from bot.digest.engine import Engine
from bot.digest.planning import plan
from bot.digest.sending import Tally, fan_out
from bot.telegram.courier import Courier

log = logging.getLogger(__name__)

# The JobQueue name of the digest tick.
TICK_JOB = "digest tick"


async def digest_tick(engine: Engine, bot: Courier) -> Tally:
    """One pass: create what is due by the clock, with its ledger, then send what is pending.

    Nothing once the bot is stopping: what is due then is planned and sent at the next start.
    """
    if engine.stopping.is_set():
        return Tally(stopped=True)
    # Chats noted since the last save first: one that came back with /start is a recipient.
    await engine.save_sightings()
    await engine.refresh()
    now = engine.clock.now()
    engine.ticked(now)
    async with engine.sessions.begin() as session:
        created = await plan(session, engine, now=now)
    tally = await fan_out(engine, bot)
    if created or tally.sent or tally.failed:
        log.info("digests: %d created, %s", created, tally)
    return tally


class Ticker:
    """The JobQueue's callback: one tick at a time. A tick asked for while one is running (the
    interval came round, or a broadcast was just confirmed) is not run beside it: the running
    one goes round once more when it is done, so what was created meanwhile goes out now.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lock = asyncio.Lock()
        self.again = False
        # The job that runs it, once scheduled.
        self._job: Job[Any] | None = None
        self._queue: JobQueue[Any] | None = None

    def schedule(self, queue: JobQueue[Any]) -> None:
        """Run a tick every ``[digest] tick`` on the job queue."""
        every = self.engine.settings.tick
        # The first tick waits one interval: start-up (and a test's set-up) comes first.
        self._job = queue.run_repeating(self, interval=every, first=every, name=TICK_JOB)
        self._queue = queue

    def kick(self) -> None:
        """Run a tick now rather than at its next turn: one fan-out at a time, so no chat is
        sent a message twice. If a tick is already running, it goes round once more.
        """
        if self._job is None or self._queue is None:
            log.warning("no %r job: the broadcast waits for the next start", TICK_JOB)
            return
        # As the job queue runs it: shielded from cancellation, errors to the error handler.
        application = self._queue.application
        application.create_task(self._job.run(application), name="broadcast")

    async def __call__(self, context: CallbackContext[Courier, Any, Any, Any]) -> None:
        if self.lock.locked():
            self.again = True
            log.info("digest tick deferred: the running one goes round once more")
            return
        async with self.lock:
            self.again = True
            while self.again and not self.engine.stopping.is_set():
                self.again = False
                await digest_tick(self.engine, context.bot)
