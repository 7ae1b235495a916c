"""/search <words>, and plain text in a private chat, over everything the bot knows."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import rendering
from bot.callbacks import MAX_BYTES, SearchPage
from bot.context import App, Context, pressed, texts
from bot.keyboards import keyboard, pager
from bot.replies import replace, reply
from bot.texts import Html, Texts, join
from storage import search

PAGE_SIZE = 5

View = tuple[Html, InlineKeyboardMarkup | None]


def _carried_query(terms: list[str], number: int) -> str:
    """As many of the words as fit in a button's data, so a further page repeats the search."""
    while terms and len(SearchPage(number, " ".join(terms)).data.encode()) > MAX_BYTES:
        terms = terms[:-1]
    return " ".join(terms)


async def _results_view(context: Context, t: Texts, query: str, number: int) -> View:
    terms = search.words(query)
    index = context.bot_data.search_index
    results = await index.search(query, limit=PAGE_SIZE, offset=number * PAGE_SIZE)
    if results.total and not results.hits:
        # A button from before the results shrank: show the last page there is now.
        number = (results.total - 1) // PAGE_SIZE
        results = await index.search(query, limit=PAGE_SIZE, offset=number * PAGE_SIZE)
    if not results.hits:
        return t("search.nothing", query=query), None
    pages = -(-results.total // PAGE_SIZE)
    hits = join([rendering.hit(t, hit) for hit in results.hits], "\n\n")
    text = t(
        "search.results",
        query=" ".join(terms),
        total=results.total,
        paging=rendering.paging(t, number=number, count=pages),
        hits=hits,
    )
    carried = _carried_query(terms, number + 1)
    # Without a query to carry (none of its words fit in a button), there is no next page.
    reachable = pages if carried else number + 1
    row = pager(t, number=number, count=reachable, to=lambda n: SearchPage(n, carried))
    return text, keyboard([row])


async def search_command(update: Update, context: Context) -> None:
    """Search for the words after /search; with none, say how."""
    t = texts(update)
    query = " ".join(context.args or [])
    if not search.words(query):
        await reply(update, t("search.usage"))
        return
    text, markup = await _results_view(context, t, query, 0)
    await reply(update, text, markup)


async def search_plain_text(update: Update, context: Context) -> None:
    """In a private chat, any text that is not a command is taken as a search."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    t = texts(update)
    if not search.words(message.text):
        await reply(update, t("fallback.text"))
        return
    text, markup = await _results_view(context, t, message.text, 0)
    await reply(update, text, markup)


async def turn_search_page(update: Update, context: Context) -> None:
    query, data = pressed(update)
    await query.answer()
    wanted = SearchPage.parse(data)
    text, markup = await _results_view(context, texts(update), wanted.query, wanted.number)
    await replace(query, text, markup)


def register(app: App) -> None:
    app.add_handlers(
        [
            CommandHandler("search", search_command),
            CallbackQueryHandler(turn_search_page, pattern=SearchPage.pattern()),
            MessageHandler(
                filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, search_plain_text
            ),
        ]
    )
