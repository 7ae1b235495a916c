"""/facts [topic]: the curated facts, a topic and a page at a time."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import rendering
from bot.callbacks import FactsPage
from bot.context import App, Context, pressed, texts
from bot.deeplinks import deep_link
from bot.keyboards import button, keyboard, pager
from bot.replies import replace, reply
from bot.texts import Html, Texts, join
from storage import facts, sources

PAGE_SIZE = 5
ALL_TOPICS = "*"
# FactsPage with no topic goes back to the list of topics.
TOPIC_LIST = ""

View = tuple[Html, InlineKeyboardMarkup | None]


async def _topics_view(context: Context, t: Texts) -> View:
    async with context.bot_data.sessions() as session:
        found = await facts.topics(session)
    if not found:
        return t("facts.empty"), None
    lines = join([t("facts.topic", title=topic.title, id=topic.id, count=n) for topic, n in found])
    rows = [[button(f"{topic.title} ({n})", FactsPage(topic.id, 0))] for topic, n in found]
    rows.append([button(t("button.all_facts"), FactsPage(ALL_TOPICS, 0))])
    return t("facts.topics", topics=lines), keyboard(rows)


async def _page_view(context: Context, t: Texts, topic: str, number: int) -> View:
    async with context.bot_data.sessions() as session:
        chosen = None if topic == ALL_TOPICS else await facts.find_topic(session, topic)
        if topic != ALL_TOPICS and chosen is None:
            return await _topics_view(context, t)
        page = await facts.page(
            session, topic=chosen.id if chosen else None, number=number, size=PAGE_SIZE
        )
        known = await sources.by_id(session, (item.source_id for item in page.items))
    key = chosen.id if chosen else ALL_TOPICS
    heading = chosen.title if chosen else t("facts.all_title")
    body = join([rendering.fact(t, item) for item in page.items], "\n\n")
    footer = rendering.source_line(t, rendering.sources_of(page.items, known), language=t.language)
    text = t(
        "facts.page",
        topic=heading,
        paging=rendering.paging(t, number=page.number, count=page.count),
        facts=body,
        sources=footer,
    )
    rows = [
        pager(
            FactsPage(key, page.number - 1) if page.has_previous else None,
            FactsPage(key, page.number + 1) if page.has_next else None,
            back=t("button.previous"),
            more=t("button.next"),
        ),
        [button(t("button.topics"), FactsPage(TOPIC_LIST, 0))],
    ]
    return text, keyboard(rows)


async def show_facts(update: Update, context: Context) -> None:
    """Without a topic, the topics to choose from; with one, its first page of facts."""
    t = texts(update)
    wanted = " ".join(context.args or [])
    if not wanted:
        text, markup = await _topics_view(context, t)
        await reply(update, text, markup)
        return
    async with context.bot_data.sessions() as session:
        topic = await facts.find_topic(session, wanted)
    if topic is None:
        text, markup = await _topics_view(context, t)
        await reply(update, join([t("facts.unknown_topic", topic=wanted), text], "\n\n"), markup)
        return
    text, markup = await _page_view(context, t, topic.id, 0)
    await reply(update, text, markup)


async def turn_facts_page(update: Update, context: Context) -> None:
    query, data = pressed(update)
    await query.answer()
    wanted = FactsPage.parse(data)
    t = texts(update)
    if wanted.topic == TOPIC_LIST:
        text, markup = await _topics_view(context, t)
    else:
        text, markup = await _page_view(context, t, wanted.topic, wanted.number)
    await replace(query, text, markup)


def register(app: App) -> None:
    app.add_handlers(
        [
            CommandHandler("facts", show_facts),
            deep_link("facts", show_facts),
            CallbackQueryHandler(turn_facts_page, pattern=FactsPage.pattern()),
        ]
    )
