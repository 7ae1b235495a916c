"""/thisweek: a curator posts "this week in the record" to the digest channel.

The post is the summary of what was added to the record or changed in the last seven days, in
the words of the periodic summary (bot/digest/words.py); the curator sees it first and posts it
with Confirm (bot/curation/drafts.py). Without a channel (``[digest] channel_id``) there is
nowhere to post, and the curator is told so.
"""

from __future__ import annotations

from datetime import timedelta

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import App, Context
from bot.curation.admins import admin_only
from bot.curation.drafts import Flow
from bot.digest import words
from bot.telegram.replies import reply
from bot.telegram.splitting import split_html
from bot.texts import Html, Texts, texts_for

WEEK = timedelta(days=7)


class WeekFlow(Flow[Html]):
    """A draft is the post as the channel will get it."""

    name = "week"

    def confirm_label(self, t: Texts) -> str:
        return t("admin_week.button_post")

    async def write(self, update: Update, context: Context, draft: Html, token: str) -> Html:
        channel = context.bot_data.settings.digest.channel_id
        if channel is None:
            return context.texts("admin_week.no_channel")
        for part in split_html(draft):
            await context.bot.send_message(channel, part)
        return context.texts("admin_week.posted")


FLOW = WeekFlow()


async def preview_week(update: Update, context: Context) -> None:
    """The week's summary as the channel will get it, with Confirm to post it."""
    t, data, now = context.texts, context.bot_data, context.now
    if data.settings.digest.channel_id is None:
        await reply(update, t("admin_week.no_channel"))
        return
    # In the digests' language, like every digest: it is for the channel, not for the curator.
    post = words.summary(
        texts_for(None),
        data.knowledge,
        since=now - WEEK,
        until=now,
        now=now,
        zone=data.settings.zone,
    )
    if post is None:
        await reply(update, t("admin_week.nothing"))
        return
    await reply(update, t("admin_week.preview"))
    await FLOW.offer(update, context, post, post)


def register(app: App) -> None:
    admin_only(app, [CommandHandler("thisweek", preview_week), FLOW.handler()])
