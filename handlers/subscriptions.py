"""/subscribe, /unsubscribe and /settings: which digests a chat gets.

In a private chat the person decides; in a group only its admins may, as Telegram reports them.
"""

from __future__ import annotations

from datetime import timedelta

from apscheduler.triggers.cron import CronTrigger
from babel.dates import format_datetime
from babel.lists import format_list
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import App, Context, pressed
from bot.digest.words import reminders_on, wanted_leads
from bot.durations import format_duration
from bot.reader.dates import babel_locale, span
from bot.telegram.callbacks import SubscriptionSetting
from bot.telegram.chat_rights import may_change, sighting
from bot.telegram.deeplinks import deep_link
from bot.telegram.keyboards import Row, button, keyboard
from bot.telegram.replies import replace, reply, topic_of
from bot.texts import Html, Texts, join
from handlers.preferences import LANGUAGE_NAMES, remember_zone, zone_chosen, zone_line, zone_row
from storage import subscriptions
from storage.bot_models import Subscription

ON, OFF = "✅", "▫️"
STOP = "stop"
# The settings' zone buttons: "zone-" and the button's name (handlers/preferences.py).
ZONE_SETTING = "zone-"


def _settings_view(
    context: Context, t: Texts, subscription: Subscription | None
) -> tuple[Html, InlineKeyboardMarkup | None]:
    """The chat's digests (or that it has none), then its zone and language, with buttons."""
    zone = context.zone
    clock = [
        zone_line(t, zone, context.now),
        t("settings.language", language=LANGUAGE_NAMES.get(t.language, t.language)),
    ]
    zones = zone_row(t, zone, lambda choice: SubscriptionSetting(ZONE_SETTING + choice))
    if subscription is None:
        return join([t("settings.not_subscribed"), *clock], "\n\n"), keyboard([zones])
    text, rows = _digest_settings(context, t, subscription)
    return join([text, *clock], "\n\n"), keyboard([*rows, zones])


def _digest_settings(
    context: Context, t: Texts, subscription: Subscription
) -> tuple[Html, list[Row]]:
    settings = context.bot_data.settings
    configured = settings.digest.lead_times
    leads = wanted_leads(subscription.lead_times, configured)
    reminding = reminders_on(subscription.events, subscription.lead_times, configured)
    locale = babel_locale(t.language)
    if reminding:
        spelled = format_list([span(lead, language=t.language) for lead in leads], locale=locale)
        events = t("settings.events_on", leads=spelled)
    else:
        events = t("settings.events_off")
    if subscription.news:
        trigger = CronTrigger.from_crontab(settings.digest.summary, timezone=settings.zone)
        upcoming = trigger.get_next_fire_time(None, context.now)
        when = format_datetime(upcoming, "EEEE d MMMM, HH:mm", tzinfo=settings.zone, locale=locale)
        news = t("settings.news_on", next=when, zone=settings.zone.key)
    else:
        news = t("settings.news_off")
    mark = {True: ON, False: OFF}
    rows = [
        [
            button(t("button.events", mark=mark[reminding]), SubscriptionSetting("events")),
            button(t("button.news", mark=mark[subscription.news]), SubscriptionSetting("news")),
        ],
        [
            button(
                f"{mark[lead in leads]} {format_duration(lead)}",
                SubscriptionSetting(format_duration(lead)),
            )
            for lead in configured
        ],
        [button(t("button.unsubscribe"), SubscriptionSetting(STOP))],
    ]
    return t("settings.view", events=events, news=news), rows


async def subscribe(update: Update, context: Context) -> None:
    """Subscribe the chat with the defaults and show what it can change; in a forum topic,
    digests go to that topic."""
    t = context.texts
    if not await may_change(update, context):
        await reply(update, t("subscription.admins_only"))
        return
    async with context.bot_data.sessions.begin() as session:
        subscription, found = await subscriptions.subscribe(
            session, sighting(update, context), thread_id=topic_of(update)
        )
    text, markup = _settings_view(context, t, subscription)
    if found == subscriptions.NEW:
        heading = t("subscribe.done")
    elif found == subscriptions.BACK:
        heading = t("subscribe.back")
    else:
        heading = t("subscribe.already")
    await reply(update, join([heading, text], "\n\n"), markup)


async def unsubscribe(update: Update, context: Context) -> None:
    t = context.texts
    if not await may_change(update, context):
        await reply(update, t("subscription.admins_only"))
        return
    async with context.bot_data.sessions.begin() as session:
        removed = await subscriptions.unsubscribe(session, context.chat_id, now=context.now)
    await reply(update, t("unsubscribe.done") if removed else t("unsubscribe.not_subscribed"))


async def show_settings(update: Update, context: Context) -> None:
    t = context.texts
    async with context.bot_data.sessions() as session:
        subscription = await subscriptions.get(session, context.chat_id)
    await reply(update, *_settings_view(context, t, subscription))


async def change_setting(update: Update, context: Context) -> None:
    """Flip one setting, or unsubscribe, and redraw the settings in place."""
    query, data = pressed(update)
    t = context.texts
    if not await may_change(update, context):
        await query.answer(t("subscription.admins_only"), show_alert=True)
        return
    setting = SubscriptionSetting.parse(data).setting
    configured = context.bot_data.settings.digest.lead_times
    if setting.startswith(ZONE_SETTING):
        zone = zone_chosen(setting.removeprefix(ZONE_SETTING))
        if zone is None:
            await query.answer()
            return
        await remember_zone(update, context, zone)
    async with context.bot_data.sessions.begin() as session:
        if setting == STOP:
            await subscriptions.unsubscribe(session, context.chat_id, now=context.now)
            subscription = None
        else:
            subscription = await subscriptions.get(session, context.chat_id)
            if subscription is not None and not setting.startswith(ZONE_SETTING):
                _apply(subscription, setting, configured)
                subscription.updated_at = context.now
    await query.answer()
    if setting == STOP:
        await replace(query, t("unsubscribe.done"))
        return
    await replace(query, *_settings_view(context, t, subscription))


def _apply(subscription: Subscription, setting: str, configured: tuple[timedelta, ...]) -> None:
    if setting == "events":
        # As the button shows it: on with no lead time left is off, and on again means all.
        if reminders_on(subscription.events, subscription.lead_times, configured):
            subscription.events = False
        else:
            subscription.events = True
            if not wanted_leads(subscription.lead_times, configured):
                subscription.lead_times = None
    elif setting == "news":
        subscription.news = not subscription.news
    else:
        leads = {
            format_duration(lead) for lead in wanted_leads(subscription.lead_times, configured)
        }
        leads ^= {setting}
        names = [format_duration(lead) for lead in configured if format_duration(lead) in leads]
        subscription.lead_times = None if len(names) == len(configured) else ",".join(names)


def register(app: App) -> None:
    app.add_handlers(
        [
            CommandHandler("subscribe", subscribe),
            CommandHandler("unsubscribe", unsubscribe),
            CommandHandler("settings", show_settings),
            deep_link("subscribe", subscribe),
            CallbackQueryHandler(change_setting, pattern=SubscriptionSetting.pattern()),
        ]
    )
