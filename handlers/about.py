"""/about (the agreement of intent) and /delegation (who came and who received them)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot import rendering
from bot.context import App, Context, texts
from bot.deeplinks import deep_link
from bot.replies import reply
from bot.texts import join
from storage import facts, people, sources

AGREEMENT_TOPIC = "agreement"
SIDES = ("kazakhstan", "jinr")


async def show_about(update: Update, context: Context) -> None:
    """The agreement: who signed it, when, and what for, with its source."""
    t = texts(update)
    async with context.bot_data.sessions() as session:
        items = await facts.in_topic(session, AGREEMENT_TOPIC)
        known = await sources.by_id(session, (item.source_id for item in items))
    if not items:
        await reply(update, t("about.empty"))
        return
    cited = rendering.sources_of(items, known)
    body = join([rendering.fact(t, item) for item in items], "\n\n")
    footer = rendering.source_line(t, cited, language=t.language)
    await reply(update, t("about.body", facts=body, sources=footer))


async def show_delegation(update: Update, context: Context) -> None:
    """Both sides of the October 2023 meeting, each in the order the source names them."""
    t = texts(update)
    async with context.bot_data.sessions() as session:
        sides = {side: await people.on_side(session, side) for side in SIDES}
        everyone = [person for group in sides.values() for person in group]
        known = await sources.by_id(session, (person.source_id for person in everyone))
    if not everyone:
        await reply(update, t("delegation.empty"))
        return
    groups = [
        t(f"delegation.side.{side}", people=join([rendering.person(t, p) for p in group]))
        for side, group in sides.items()
        if group
    ]
    footer = rendering.source_line(t, rendering.sources_of(everyone, known), language=t.language)
    await reply(update, t("delegation.body", groups=join(groups, "\n\n"), sources=footer))


def register(app: App) -> None:
    app.add_handlers(
        [
            CommandHandler("about", show_about),
            CommandHandler("delegation", show_delegation),
            deep_link("about", show_about),
            deep_link("delegation", show_delegation),
        ]
    )
