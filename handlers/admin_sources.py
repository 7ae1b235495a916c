"""/addsource <url>: a source added from a link, after the curator has seen what it says.

The page is fetched safely (public addresses only, bounded in size, time and redirects:
bot/curation/fetching.py) and read for its title, publisher, date, language and text
(bot/curation/extraction.py). The preview shows them and the sentences that mention the
cooperation; Confirm stores the source with its text, and each sentence's button stores it too
and drafts a fact from the sentence (the facts conversation takes that press). An address on
record already, written however, is not added twice.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import App, Context
from bot.curation import source_drafts
from bot.curation.admins import admin_only
from bot.curation.drafts import DraftPress, Flow
from bot.curation.extraction import extract
from bot.curation.fetching import FetchError, FetchProblem, fetch_page, fetch_session, normalise
from bot.curation.source_drafts import FLOW as NAME
from bot.curation.source_drafts import SENTENCE, SourceDraft
from bot.reader.dates import day_of
from bot.telegram.keyboards import button
from bot.telegram.replies import reply
from bot.texts import Html, Texts, join

log = logging.getLogger(__name__)


class SourceFlow(Flow[SourceDraft]):
    name = NAME

    def confirm_label(self, t: Texts) -> str:
        return t("admin_sources.button_store")

    async def write(
        self, update: Update, context: Context, draft: SourceDraft, token: str
    ) -> Html:
        source = await source_drafts.keep(
            context.bot_data, draft, admin_id=context.user_id, now=context.now
        )
        return context.texts("admin_sources.stored", id=source.id, title=source.title)


FLOW = SourceFlow()


async def add_source(update: Update, context: Context) -> None:
    """Fetch the page, read it, and show what it says with the buttons to go on."""
    t, data = context.texts, context.bot_data
    url = context.command_text
    if not url:
        await reply(update, t("admin_sources.usage"))
        return
    try:
        known = _on_record(context, normalise(url))
        if known is not None:
            await reply(update, t("admin_sources.known", id=known, url=url))
            return
        async with fetch_session(allow_loopback=data.settings.fetch_loopback) as session:
            page = await fetch_page(
                url, session=session, allow_loopback=data.settings.fetch_loopback
            )
    except FetchError as error:
        log.info("/addsource refused %s: %s", error.reason, error.detail)
        await reply(update, _refusal(t, error, url))
        return
    read = await asyncio.to_thread(extract, page)
    if read is None:
        await reply(update, t("admin_sources.unreadable", url=page.url))
        return
    draft = source_drafts.draft_of(page.url, read, data.knowledge)
    await FLOW.offer(
        update,
        context,
        draft,
        _preview(t, draft),
        above=lambda token: [
            [button(t("admin_sources.button_fact", number=number), _sentence(token, number))]
            for number in range(1, len(draft.sentences) + 1)
        ],
    )


def _sentence(token: str, number: int) -> DraftPress:
    """The button that drafts a fact from the `number`-th sentence shown."""
    return FLOW.press(token, f"{SENTENCE}{number}")


def _on_record(context: Context, address: str) -> str | None:
    """The id of a source on record at this address, however it was written."""
    for source in context.bot_data.knowledge.sources.values():
        if source.url is None:
            continue
        try:
            if normalise(source.url) == address:
                return source.id
        except FetchError:
            continue
    return None


def _refusal(t: Texts, error: FetchError, url: str) -> Html:
    """What was wrong with the address or the page, and what to do."""
    match error.reason:
        case FetchProblem.NOT_HTTP:
            return t("admin_sources.not_http", url=url)
        case FetchProblem.PRIVATE_ADDRESS:
            return t("admin_sources.private_address", url=url)
        case FetchProblem.TOO_MANY_REDIRECTS:
            return t("admin_sources.too_many_redirects", url=url)
        case FetchProblem.TOO_BIG:
            return t("admin_sources.too_big", url=url)
        case FetchProblem.TIMEOUT:
            return t("admin_sources.timeout", url=url)
        case FetchProblem.NOT_HTML:
            return t("admin_sources.not_html", url=url)
        case FetchProblem.HTTP_STATUS:
            return t("admin_sources.http_status", url=url)
        case FetchProblem.UNREACHABLE:
            return t("admin_sources.unreachable", url=url)
    return t("admin_sources.bad_url", url=url)


def _preview(t: Texts, draft: SourceDraft) -> Html:
    published = (
        day_of(draft.published, precision="day", language=t.language)
        if draft.published
        else t("admin_sources.no_date")
    )
    sentences = [
        t("admin_sources.sentence", number=number, sentence=sentence)
        for number, sentence in enumerate(draft.sentences, start=1)
    ]
    return t(
        "admin_sources.preview",
        title=draft.title,
        publisher=draft.publisher or t("admin_sources.no_publisher"),
        published=published,
        language=draft.language or t("admin_sources.no_language"),
        url=draft.url,
        sentences=join(sentences) if sentences else t("admin_sources.no_sentences"),
    )


def register(app: App) -> None:
    admin_only(app, [CommandHandler("addsource", add_source), FLOW.handler()])
