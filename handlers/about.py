"""/about (the agreement of intent) and /delegation (who came and who received them)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot import rendering
from bot.context import App, Context
from bot.telegram.deeplinks import deep_link
from bot.telegram.replies import reply
from bot.texts import join

AGREEMENT_TOPIC = "agreement"
SIDES = ("kazakhstan", "jinr")


async def show_about(update: Update, context: Context) -> None:
    """The agreement: who signed it, when, and what for, with its source."""
    t = context.texts
    known = context.bot_data.knowledge
    items = known.facts_in(AGREEMENT_TOPIC)
    if not items:
        await reply(update, t("about.empty"))
        return
    cite = rendering.Citations(known.sources_of(items))
    body = join([cite.after(rendering.fact(t, item), item) for item in items], "\n\n")
    await reply(update, t("about.body", facts=body, sources=cite.footer(t)))


async def show_delegation(update: Update, context: Context) -> None:
    """Both sides of the October 2023 meeting, each in the order the source names them."""
    t = context.texts
    known = context.bot_data.knowledge
    sides = {side: known.on_side(side) for side in SIDES}
    everyone = [person for group in sides.values() for person in group]
    if not everyone:
        await reply(update, t("delegation.empty"))
        return
    cite = rendering.Citations(known.sources_of(everyone))
    groups = [
        t(
            f"delegation.side.{side}",
            people=join([cite.after(rendering.person(t, p), p) for p in group]),
        )
        for side, group in sides.items()
        if group
    ]
    await reply(update, t("delegation.body", groups=join(groups, "\n\n"), sources=cite.footer(t)))


def register(app: App) -> None:
    app.add_handlers(
        [
            CommandHandler("about", show_about),
            CommandHandler("delegation", show_delegation),
            deep_link("about", show_about),
            deep_link("delegation", show_delegation),
        ]
    )
