"""/search <words>, and plain text in a private chat, over everything the bot knows."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import rendering
from bot.context import App, Context, pressed
from bot.reader.wording import Wording
from bot.telegram.callbacks import SearchHit, SearchPage
from bot.telegram.keyboards import button, calendar_row, keyboard, pager
from bot.telegram.replies import replace, reply
from bot.texts import Html, Texts, join, shorten
from storage import search
from storage.knowledge import KIND_LETTERS, LETTER_OF_KIND
from storage.models import Event

PAGE_SIZE = 5
# The query is repeated in the answer up to this many characters: enough to recognise it.
SHOWN_QUERY_LENGTH = 60

View = tuple[Html, InlineKeyboardMarkup | None]


def _shown(asked: str) -> str:
    """The query as the answer repeats it: whitespace collapsed, cut short if long (a message
    may be 4,096 characters, and the answer is about the results, not the question)."""
    return shorten(" ".join(asked.split()), SHOWN_QUERY_LENGTH)


async def _results_view(
    context: Context, t: Texts, words: str, number: int, *, asked: str | None = None
) -> View:
    """A page of results for `words`, the normalised query (storage.search.words, joined);
    `asked` is what the user typed, which the answer repeats, escaped, if nothing is found.
    Each hit names its source and has a button that opens it; its title and snippet are in the
    reader's language where the item is translated."""
    index = context.bot_data.search_index
    language = t.language
    results = await index.search(
        words, limit=PAGE_SIZE, offset=number * PAGE_SIZE, language=language
    )
    if results.total and not results.hits:
        # A button from before the results shrank: show the last page there is now.
        number = (results.total - 1) // PAGE_SIZE
        results = await index.search(
            words, limit=PAGE_SIZE, offset=number * PAGE_SIZE, language=language
        )
    if not results.hits:
        return t("search.nothing", query=_shown(asked or words)), None
    known = context.bot_data.knowledge
    found = [(hit, known.item(hit.kind, hit.item_id)) for hit in results.hits]
    citations = rendering.Citations(known.sources_of([item for _, item in found if item]))
    w = Wording(t, known)
    lines = [
        citations.after(rendering.hit(w, hit, item), item) if item else rendering.hit(w, hit, None)
        for hit, item in found
    ]
    pages = -(-results.total // PAGE_SIZE)
    values = {
        "query": _shown(words),
        "total": results.total,
        "paging": rendering.paging(t, number=number, count=pages),
        "hits": join(lines, "\n\n"),
        "sources": w.footer(citations.footer(t)),
    }
    text = t("search.respelled", **values) if results.respelled else t("search.results", **values)
    key = context.bot_data.recent_searches.remember(words)
    opens = [
        [button(f"{rendering.KIND_ICONS[hit.kind]} {w.title(item)}", _opening(hit, number, key))]
        for hit, item in found
        if item is not None
    ]
    row = pager(t, number=number, count=pages, to=lambda n: SearchPage(n, key))
    return text, keyboard([*opens, row])


def _opening(hit: search.Hit, number: int, key: str) -> SearchHit:
    return SearchHit(LETTER_OF_KIND[hit.kind], hit.item_id, number, key)


async def open_hit(update: Update, context: Context) -> None:
    """A result opened: the item whole, with its source, and a way back to the results."""
    query, data = pressed(update)
    t = context.texts
    wanted = SearchHit.parse(data)
    known = context.bot_data.knowledge
    item = known.item(KIND_LETTERS.get(wanted.kind, ""), wanted.item_id)
    if item is None:
        await query.answer(t("search.hit_gone"), show_alert=True)
        return
    await query.answer()
    card = rendering.card(Wording(t, known), item, reader=context.zone.key)
    back = [button(t("search.back"), SearchPage(wanted.number, wanted.key))]
    adds = calendar_row(t, item) if isinstance(item, Event) else []
    await replace(query, card, keyboard([adds, back]))


async def _answer_search(update: Update, context: Context, text: str) -> None:
    """The first page of results for what the user typed, or how to search if it has no words."""
    t = context.texts
    words = " ".join(search.words(text))
    if not words:
        await reply(update, t("search.usage"))
        return
    await reply(update, *await _results_view(context, t, words, 0, asked=text))


async def search_command(update: Update, context: Context) -> None:
    """Search for the words after /search; with none, say how."""
    await _answer_search(update, context, context.command_text)


async def search_plain_text(update: Update, context: Context) -> None:
    """In a private chat, any text that is not a command is taken as a search."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    if not search.words(message.text):
        await reply(update, context.texts("fallback.text"))
        return
    await _answer_search(update, context, message.text)


async def turn_search_page(update: Update, context: Context) -> None:
    """Another page of a recent search; one from before a restart asks to search again."""
    query, data = pressed(update)
    t = context.texts
    wanted = SearchPage.parse(data)
    words = context.bot_data.recent_searches.recall(wanted.key)
    if words is None:
        await query.answer(t("search.forgotten"), show_alert=True)
        return
    await query.answer()
    await replace(query, *await _results_view(context, t, words, wanted.number))


def register(app: App) -> None:
    app.add_handlers(
        [
            CommandHandler("search", search_command),
            CallbackQueryHandler(turn_search_page, pattern=SearchPage.pattern()),
            CallbackQueryHandler(open_hit, pattern=SearchHit.pattern()),
            MessageHandler(
                filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND, search_plain_text
            ),
        ]
    )
