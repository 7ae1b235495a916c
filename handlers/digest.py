"""/digest: a preview of what the next reminder and the next summary would say here.

The digests themselves are planned and sent by the engine in bot/digest/ (its tick is
bot/digest/ticker.py), which ``register`` puts on the job queue.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import App, Context
from bot.digest import words
from bot.digest.due import (
    next_fire,
    summary_since,
    summary_trigger,
    upcoming_reminders,
)
from bot.telegram.replies import reply
from bot.texts import Html, Texts, join
from storage import digests, subscriptions
from storage.bot_models import Subscription


async def show_digest(update: Update, context: Context) -> None:
    """What the next reminder and the next summary would say in this chat, as things stand:
    at its time, in its zone, as the digests will reach it."""
    t = context.texts
    async with context.bot_data.sessions() as session:
        subscription = await subscriptions.get(session, context.chat_id)
        last = await digests.last_summary_at(session)
    zone = context.zone
    parts = [
        _next_reminder(context, t, subscription, zone),
        _next_summary(context, t, subscription, last, zone),
    ]
    if subscription is None:
        parts.append(t("digest.preview_not_subscribed"))
    await reply(update, t("digest.preview", parts=join(parts, "\n\n")))


def _next_reminder(
    context: Context, t: Texts, subscription: Subscription | None, zone: ZoneInfo
) -> Html:
    data = context.bot_data
    now = data.clock.now()
    configured = data.settings.digest.lead_times
    if subscription is not None and not words.reminders_on(
        subscription.events, subscription.lead_times, configured
    ):
        return t("digest.preview_reminders_off")
    wanted = words.wanted_leads(subscription.lead_times if subscription else None, configured)
    ahead = upcoming_reminders(data.knowledge.upcoming(now), wanted, now=now, zones=[zone.key])
    if not ahead:
        return t("digest.preview_no_reminder")
    moment, lead, event = ahead[0]
    text = words.reminder(t, data.knowledge, event, lead=lead, late_since=None, reader=zone.key)
    return t("digest.preview_reminder", at=words.moment(t, moment, zone), zone=zone.key, text=text)


def _next_summary(
    context: Context,
    t: Texts,
    subscription: Subscription | None,
    last: datetime | None,
    zone: ZoneInfo,
) -> Html:
    if subscription is not None and not subscription.news:
        return t("digest.preview_summary_off")
    data = context.bot_data
    now = data.clock.now()
    # On the bot's crontab, shown in the chat's zone.
    trigger = summary_trigger(data.settings.digest.summary, data.settings.zone)
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
    app.bot_data.ticker.schedule(app.job_queue)
