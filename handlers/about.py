"""/about (the cooperation in brief) and /delegation (who came in October 2023, and who received
them), each person with what they were then."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import CommandHandler

from bot import rendering
from bot.context import App, Context
from bot.curation.content import SIDES
from bot.reader import dates
from bot.reader.wording import Wording
from bot.telegram.deeplinks import deep_link
from bot.telegram.replies import reply
from bot.texts import join
from storage.events import ends

# What /about tells, topic by topic, and how many of each topic's facts (in curated order).
OVERVIEW = (("membership", 2), ("national-group", 1), ("figures", 2), ("directions", 3))
# The visit whose delegation /delegation lists; its sides are shown in content's order of them.
DELEGATION_EVENT = "nas-rk-visit-2023"


async def show_about(update: Update, context: Context) -> None:
    """The cooperation in brief: membership as the sources word it, the national group, the
    main directions, and the agreements on record, each fact with its source."""
    t = context.texts
    known = context.bot_data.knowledge
    items = [fact for topic, count in OVERVIEW for fact in known.facts_in(topic)[:count]]
    if not items:
        await reply(update, t("about.empty"))
        return
    cite = rendering.Citations(known.sources_of([*items, *known.agreements]))
    w = Wording(t, known)
    body = join([cite.after(rendering.fact(w, item), item) for item in items], "\n\n")
    signed = [
        cite.after(
            t(
                "about.agreement",
                signed=dates.day_of(
                    item.signed, precision=item.signed_precision, language=t.language
                ),
                title=w(item, "title"),
            ),
            item,
        )
        for item in reversed(known.agreements)
    ]
    sources = w.footer(cite.footer(t))
    text = t("about.body", facts=body, agreements=join(signed), sources=sources)
    await reply(update, text)


async def show_delegation(update: Update, context: Context) -> None:
    """Both sides of the October 2023 meeting, each in the order the source names them, each
    person with the role the record gives them as of then."""
    t = context.texts
    known = context.bot_data.knowledge
    event = known.event(DELEGATION_EVENT)
    everyone = known.people_at(event) if event else []
    if event is None or not everyone:
        await reply(update, t("delegation.empty"))
        return
    # The visit's last day, in its own zone: roles as of then.
    by = ends(event).astimezone(ZoneInfo(event.zone)).date() - timedelta(days=1)
    shown = [(person, known.role_by(person.id, by)) for person in everyone]
    cite = rendering.Citations(known.sources_of([role or person for person, role in shown]))
    w = Wording(t, known)
    groups = [
        t(
            f"delegation.side.{side}",
            people=join(
                [
                    cite.after(rendering.person(w, person, role), role or person)
                    for person, role in shown
                    if person.side == side
                ]
            ),
        )
        for side in SIDES
        if any(person.side == side for person, _ in shown)
    ]
    sources = w.footer(cite.footer(t))
    await reply(update, t("delegation.body", groups=join(groups, "\n\n"), sources=sources))


def register(app: App) -> None:
    app.add_handlers(
        [
            CommandHandler("about", show_about),
            CommandHandler("delegation", show_delegation),
            deep_link("about", show_about),
            deep_link("delegation", show_delegation),
        ]
    )
