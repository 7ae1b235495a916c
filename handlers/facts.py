"""/facts [topic]: the curated facts, a topic and a page at a time."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import rendering
from bot.context import App, Context, pressed
from bot.curation.admins import is_admin
from bot.paging import page_of
from bot.reader.wording import Wording
from bot.telegram.callbacks import FactsPage
from bot.telegram.deeplinks import deep_link
from bot.telegram.keyboards import button, keyboard, pager
from bot.telegram.replies import replace, reply
from bot.texts import Html, Texts, join
from storage.knowledge import Knowledge

PAGE_SIZE = 5
ALL_TOPICS = "*"
# FactsPage with no topic goes back to the list of topics.
TOPIC_LIST = ""

View = tuple[Html, InlineKeyboardMarkup | None]


def _topics_view(known: Knowledge, t: Texts) -> View:
    found = known.topic_counts()
    if not found:
        return t("facts.empty"), None
    w = Wording(t, known)
    lines = join(
        [t("facts.topic", title=w(topic, "title"), id=topic.id, count=n) for topic, n in found]
    )
    rows = [
        [button(f"{w.text(topic, 'title')} ({n})", FactsPage(topic.id, 0))] for topic, n in found
    ]
    rows.append([button(t("button.all_facts"), FactsPage(ALL_TOPICS, 0))])
    return w.below(t("facts.topics", topics=lines)), keyboard(rows)


def _shows_ids(update: Update, context: Context) -> bool:
    """Admins in their private chat see each fact's id, to name it in /editfact or /delfact."""
    chat = update.effective_chat
    private = chat is not None and chat.type == ChatType.PRIVATE
    return private and is_admin(context.bot_data.settings, update.effective_user)


def _page_view(
    known: Knowledge, t: Texts, topic: str, number: int, *, show_ids: bool = False
) -> View:
    chosen = None if topic == ALL_TOPICS else known.find_topic(topic)
    if topic != ALL_TOPICS and chosen is None:
        return _topics_view(known, t)
    page = page_of(known.facts_in(chosen.id if chosen else None), number=number, size=PAGE_SIZE)
    key = chosen.id if chosen else ALL_TOPICS
    cite = rendering.Citations(known.sources_of(page.items))
    w = Wording(t, known)
    topic_title = w(chosen, "title") if chosen else t("facts.all_title")
    facts = join(
        [cite.after(rendering.fact(w, item, show_id=show_ids), item) for item in page.items],
        "\n\n",
    )
    text = t(
        "facts.page",
        topic=topic_title,
        paging=rendering.paging(t, number=page.number, count=page.count),
        facts=facts,
        sources=w.footer(cite.footer(t)),
    )
    rows = [
        pager(t, number=page.number, count=page.count, to=lambda n: FactsPage(key, n)),
        [button(t("button.topics"), FactsPage(TOPIC_LIST, 0))],
    ]
    return text, keyboard(rows)


async def show_facts(update: Update, context: Context) -> None:
    """Without a topic, the topics to choose from; with one, its first page of facts."""
    t = context.texts
    known = context.bot_data.knowledge
    wanted = context.command_text
    if not wanted:
        await reply(update, *_topics_view(known, t))
        return
    topic = known.find_topic(wanted)
    if topic is None:
        text, markup = _topics_view(known, t)
        await reply(update, join([t("facts.unknown_topic", topic=wanted), text], "\n\n"), markup)
        return
    await reply(update, *_page_view(known, t, topic.id, 0, show_ids=_shows_ids(update, context)))


async def turn_facts_page(update: Update, context: Context) -> None:
    query, data = pressed(update)
    await query.answer()
    wanted = FactsPage.parse(data)
    known, t = context.bot_data.knowledge, context.texts
    if wanted.topic == TOPIC_LIST:
        await replace(query, *_topics_view(known, t))
    else:
        show_ids = _shows_ids(update, context)
        await replace(query, *_page_view(known, t, wanted.topic, wanted.number, show_ids=show_ids))


def register(app: App) -> None:
    app.add_handlers(
        [
            CommandHandler("facts", show_facts),
            deep_link("facts", show_facts),
            CallbackQueryHandler(turn_facts_page, pattern=FactsPage.pattern()),
        ]
    )
