"""Digests: the periodic tick that plans and sends reminders, notices and summaries, and
/digest, a preview of what the next ones would say here.

The tick runs on PTB's JobQueue, but the scheduler only wakes it: what is due is computed each
time from the database and the injected clock, so nothing is lost to a restart or to
APScheduler's misfire grace, and ``digest_tick`` can be called directly.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import App, BotData, Context, texts
from bot.digest import words
from bot.digest.due import (
    next_fire,
    next_reminder,
    reminder_moments,
    summary_since,
    summary_trigger,
)
from bot.digest.planning import plan
from bot.digest.sending import TICK_JOB, Tally, fan_out
from bot.knowledge import refresh
from bot.telegram import sightings
from bot.telegram.courier import Courier
from bot.telegram.replies import reply
from bot.texts import Html, Texts, join
from storage import digests, subscriptions
from storage.models import Subscription

log = logging.getLogger(__name__)


async def digest_tick(data: BotData, bot: Courier) -> Tally:
    """One pass: create what is due by the clock, with its ledger, then send what is pending.

    Nothing once the bot is stopping: what is due then is planned and sent at the next start.
    """
    if data.stopping.is_set():
        return Tally(stopped=True)
    # Chats noted since the last save first: one that came back with /start is a recipient.
    await sightings.save(data)
    await refresh(data)
    now = data.clock.now()
    async with data.sessions.begin() as session:
        created = await plan(session, data, now=now)
    tally = await fan_out(data, bot)
    if created or tally.sent or tally.failed:
        log.info("digests: %d created, %s", created, tally)
    return tally


class Ticker:
    """The JobQueue's callback: one tick at a time. A tick asked for while one is running (the
    interval came round, or a broadcast was just confirmed) is not run beside it: the running
    one goes round once more when it is done, so what was created meanwhile goes out now.
    """

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.again = False

    async def __call__(self, context: Context) -> None:
        if self.lock.locked():
            self.again = True
            log.info("digest tick deferred: the running one goes round once more")
            return
        async with self.lock:
            self.again = True
            while self.again and not context.bot_data.stopping.is_set():
                self.again = False
                await digest_tick(context.bot_data, context.bot)


async def show_digest(update: Update, context: Context) -> None:
    """What the next reminder and the next summary would say in this chat, as things stand."""
    t = texts(update)
    chat = update.effective_chat
    assert chat is not None  # a command always comes from a chat
    async with context.bot_data.sessions() as session:
        subscription = await subscriptions.get(session, chat.id)
        last = await digests.last_summary_at(session)
    parts = [
        _next_reminder(context, t, subscription),
        _next_summary(context, t, subscription, last),
    ]
    if subscription is None:
        parts.append(t("digest.preview_not_subscribed"))
    await reply(update, t("digest.preview", parts=join(parts, "\n\n")))


def _next_reminder(context: Context, t: Texts, subscription: Subscription | None) -> Html:
    data = context.bot_data
    now = data.clock.now()
    configured = data.settings.digest.lead_times
    if subscription is not None and not words.reminders_on(
        subscription.events, subscription.lead_times, configured
    ):
        return t("digest.preview_reminders_off")
    wanted = words.wanted_leads(subscription.lead_times if subscription else None, configured)
    found = []
    for event in data.knowledge.upcoming(now):
        moments = reminder_moments(event, wanted)
        ahead = next_reminder(moments, now=now)
        if ahead is not None:
            found.append((ahead[1], ahead[0], event))
    if not found:
        return t("digest.preview_no_reminder")
    moment, lead, event = min(found, key=lambda item: item[0])
    text = words.reminder(t, data.knowledge, event, lead=lead, late_since=None)
    zone = data.settings.zone
    return t("digest.preview_reminder", at=words.moment(t, moment, zone), zone=zone.key, text=text)


def _next_summary(
    context: Context, t: Texts, subscription: Subscription | None, last: datetime | None
) -> Html:
    if subscription is not None and not subscription.news:
        return t("digest.preview_summary_off")
    data = context.bot_data
    now, zone = data.clock.now(), data.settings.zone
    trigger = summary_trigger(data.settings.digest.summary, zone)
    fire = next_fire(trigger, after=now)
    if fire is None:
        return t("digest.preview_no_summary_time")
    known = data.knowledge
    since = summary_since(trigger, fire=fire, last=last, seeded=known.first_loaded())
    # What is coming is what will be coming when it goes, not now.
    text = words.summary(t, known, since=min(since, now), until=now, now=fire, zone=zone)
    at = words.moment(t, fire, zone)
    if text is None:
        return t("digest.preview_summary_empty", at=at, zone=zone.key)
    return t("digest.preview_summary", at=at, zone=zone.key, text=text)


def register(app: App) -> None:
    app.add_handler(CommandHandler("digest", show_digest))
    assert app.job_queue is not None  # the builder is always given one
    tick = app.bot_data.settings.digest.tick
    # The first tick waits one interval: start-up (and a test's set-up) comes first.
    app.job_queue.run_repeating(Ticker(), interval=tick, first=tick, name=TICK_JOB)
