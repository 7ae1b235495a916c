"""/addfact, /editfact: admins add and change facts from their private chat.

Adding goes step by step (topic, title, text, source) or from one line; editing names one
field. Both end in a preview, shown as users will see it (bot/curation/fact_drafts.py), with
Confirm and Cancel (bot/curation/drafts.py): only Confirm writes. The draft keeps the version of
the fact the admin was shown, so an edit made meanwhile by someone else is reported, not
overwritten. Deleting is soft and undone by /restore, so it asks for no confirmation.
"""

from __future__ import annotations

import re
import warnings
from datetime import timedelta
from functools import partial

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import App, Context, pressed
from bot.curation import fact_drafts, fact_forms, source_drafts
from bot.curation.admins import admin_only
from bot.curation.drafts import DraftPress, Flow, conflict, pressed_draft
from bot.curation.fact_drafts import Draft
from bot.curation.fact_forms import FACT_FIELDS, FormError, SourceChoice
from bot.knowledge import refresh
from bot.telegram.keyboards import button, keyboard
from bot.telegram.replies import reply
from bot.texts import Html
from storage import curation

TOPIC, TITLE, TEXT, SOURCE, CONFIRM = range(5)
END = ConversationHandler.END
TIMEOUT = timedelta(minutes=15)
# Known sources offered as buttons; any other is typed by id.
SOURCE_BUTTONS = 8
TYPED = filters.TEXT & ~filters.COMMAND
# The steps' own choices under a draft: a topic or a source picked by its id.
PICK_TOPIC, PICK_SOURCE = "t.", "s."
# A sentence's button under /addsource starts a fact drafted from that sentence.
FROM_SENTENCE = DraftPress.matching(source_drafts.FLOW, rf"{source_drafts.SENTENCE}\d{{1,2}}")


class FactFlow(Flow[Draft]):
    """One fact draft at a time: a new /addfact or /editfact makes the older one stale."""

    name = "fact"
    keep = 1

    async def write(self, update: Update, context: Context, draft: Draft, token: str) -> Html:
        t, admin_id, now = context.texts, context.user_id, context.now
        try:
            async with context.bot_data.sessions.begin() as session:
                await fact_drafts.save(session, draft, admin_id=admin_id, now=now)
        except curation.Duplicate:
            # Another admin took the id since the preview: show the one it would get now.
            await _preview(update, context, draft)
            return t("admin_facts.id_taken")
        except curation.Conflict as error:
            shown = partial(fact_drafts.fields_view, t)
            return await conflict(context, error, shown)
        await refresh(context.bot_data)
        if draft.before is None:
            return t("admin_facts.added", id=draft.fact_id, topic=draft.fact().topic)
        return t("admin_facts.edited", id=draft.fact_id, field=draft.field)


FLOW = FactFlow()


def _latest(context: Context) -> tuple[str, Draft]:
    """The draft under way, with the token its steps' buttons carry."""
    latest = FLOW.drafts(context).latest()
    if latest is None:
        raise RuntimeError("a step of /addfact is reached only with a draft under way")
    return latest


async def _preview(update: Update, context: Context, draft: Draft) -> int:
    """Show the draft as it will be saved, with the id a new fact will get; await a decision."""
    if draft.before is None:
        async with context.bot_data.sessions() as session:
            await fact_drafts.assign_ids(session, draft)
    text = fact_drafts.preview(context.texts, context.bot_data.knowledge, draft)
    await FLOW.offer(update, context, draft, text)
    return CONFIRM


async def start_adding(update: Update, context: Context) -> int:
    """With ``topic | title | text | source``, straight to the preview; without, step by step."""
    t, known = context.texts, context.bot_data.knowledge
    FLOW.drafts(context).clear()
    rest = context.command_text
    if rest:
        try:
            draft = fact_drafts.one_line_draft(known, rest, today=context.today)
        except FormError as error:
            await reply(update, error.message(t))
            return END
        return await _preview(update, context, draft)
    return await _ask_topic(update, context, FLOW.drafts(context).add(Draft()))


async def start_from_sentence(update: Update, context: Context) -> int | None:
    """A sentence's button under /addsource: the source is stored, and a fact drafted from the
    sentence, citing it, goes on from its topic (the title typed, then the usual preview)."""
    t, data = context.texts, context.bot_data
    try:
        press, found = await pressed_draft(update, context, source_drafts.FLOW)
        sentence = found.sentences[int(press.choice.removeprefix(source_drafts.SENTENCE)) - 1]
    except (LookupError, ValueError):
        return None
    source = await source_drafts.keep(data, found, admin_id=context.user_id, now=context.now)
    query, _ = pressed(update)
    await query.answer()
    FLOW.drafts(context).clear()
    draft = Draft(text=fact_forms.check("text", sentence), source=SourceChoice(source, new=False))
    await reply(update, t("admin_facts.from_sentence", source=source.id, text=draft.text))
    return await _ask_topic(update, context, FLOW.drafts(context).add(draft))


async def _ask_topic(update: Update, context: Context, token: str) -> int:
    """The topics as buttons, under the draft's token; any may be typed instead."""
    topics = context.bot_data.knowledge.topics
    rows = [[button(topic.title, FLOW.press(token, PICK_TOPIC + topic.id))] for topic in topics]
    await reply(update, context.texts("admin_facts.ask_topic"), keyboard(rows))
    return TOPIC


async def take_topic(update: Update, context: Context) -> int | None:
    t, typed = context.texts, await FLOW.given(update, context, PICK_TOPIC)
    if typed is None:
        return None
    try:
        topic = fact_forms.topic(context.bot_data.knowledge, typed)
    except FormError as error:
        await reply(update, error.message(t))
        return None
    _latest(context)[1].topic = topic
    limit = FACT_FIELDS["title"].limit
    await reply(update, t("admin_facts.ask_title", topic=topic.title, limit=limit))
    return TITLE


async def take_title(update: Update, context: Context) -> int | None:
    t = context.texts
    draft = _latest(context)[1]
    try:
        draft.title = fact_forms.check("title", context.text)
    except FormError as error:
        await reply(update, error.message(t))
        return None
    if draft.text and draft.source is not None:
        # Drafted from a source's sentence: its text and source are given already.
        return await _preview(update, context, draft)
    await reply(update, t("admin_facts.ask_text", limit=FACT_FIELDS["text"].limit))
    return TEXT


async def take_text(update: Update, context: Context) -> int | None:
    t = context.texts
    try:
        _latest(context)[1].text = fact_forms.check("text", context.text)
    except FormError as error:
        await reply(update, error.message(t))
        return None
    sources = list(context.bot_data.knowledge.sources.values())[:SOURCE_BUTTONS]
    token, _ = _latest(context)
    rows = [[button(cited.title, FLOW.press(token, PICK_SOURCE + cited.id))] for cited in sources]
    await reply(update, t("admin_facts.ask_source"), keyboard(rows))
    return SOURCE


async def take_source(update: Update, context: Context) -> int | None:
    typed = await FLOW.given(update, context, PICK_SOURCE)
    if typed is None:
        return None
    draft = _latest(context)[1]
    try:
        draft.source = fact_drafts.source(context.bot_data.knowledge, typed, today=context.today)
    except FormError as error:
        await reply(update, error.message(context.texts))
        return None
    return await _preview(update, context, draft)


async def start_editing(update: Update, context: Context) -> int:
    """``<id>`` shows the fact's fields; ``<id> <field> = <value>`` previews the change."""
    t, known = context.texts, context.bot_data.knowledge
    FLOW.drafts(context).clear()
    try:
        form = fact_forms.edit_form(context.command_text)
        async with context.bot_data.sessions() as session:
            fact = await fact_drafts.stored(session, form.fact_id)
        if form.field is None or form.value is None:
            await reply(update, fact_drafts.fields_view(t, fact))
            return END
        if fact.deleted_at is not None:
            await reply(update, t("admin_facts.edit_deleted", id=fact.id))
            return END
        draft = fact_drafts.edit_draft(known, fact, form.field, form.value, today=context.today)
    except FormError as error:
        await reply(update, error.message(t))
        return END
    if fact_drafts.value(draft.fact(), draft.field) == fact_drafts.value(fact, draft.field):
        await reply(update, t("admin_facts.unchanged", id=fact.id, field=draft.field))
        return END
    return await _preview(update, context, draft)


async def decide(update: Update, context: Context) -> int | None:
    """Confirm or Cancel; after a stale press, or a preview made anew, the draft still waits."""
    answered = await FLOW.answer(update, context)
    return None if not answered else CONFIRM if FLOW.drafts(context).latest() else END


async def cancel(update: Update, context: Context) -> int:
    FLOW.drafts(context).clear()
    await reply(update, context.texts("drafts.cancelled"))
    return END


async def remind_to_decide(update: Update, context: Context) -> None:
    """Text typed under a preview is not a search: the draft still waits for a decision."""
    await reply(update, context.texts("admin_facts.decide_first"))


async def time_out(update: Update, context: Context) -> None:
    FLOW.drafts(context).clear()
    minutes = int(TIMEOUT / timedelta(minutes=1))
    await reply(update, context.texts("admin_facts.timed_out", minutes=minutes))


def conversation() -> ConversationHandler[Context]:
    """Adding and editing: each step, the preview and its decision, cancel and timeout."""
    with warnings.catch_warnings():
        # With per_message=False a button press is tracked per chat and user, not per message:
        # what we want, as the steps' buttons sit on several messages. PTB warns all the same.
        warnings.filterwarnings("ignore", message="If 'per_message=False'")
        return ConversationHandler(
            entry_points=[
                CommandHandler("addfact", start_adding),
                CommandHandler("editfact", start_editing),
                CallbackQueryHandler(start_from_sentence, pattern=FROM_SENTENCE),
            ],
            states={
                TOPIC: [
                    CallbackQueryHandler(take_topic, pattern=_step(PICK_TOPIC)),
                    MessageHandler(TYPED, take_topic),
                ],
                TITLE: [MessageHandler(TYPED, take_title)],
                TEXT: [MessageHandler(TYPED, take_text)],
                SOURCE: [
                    CallbackQueryHandler(take_source, pattern=_step(PICK_SOURCE)),
                    MessageHandler(TYPED, take_source),
                ],
                CONFIRM: [
                    CallbackQueryHandler(decide, pattern=FLOW.pattern()),
                    MessageHandler(TYPED, remind_to_decide),
                ],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, time_out)],
            },
            fallbacks=[CommandHandler("cancel", cancel)],
            # /addfact or /editfact in the middle of a draft starts afresh.
            allow_reentry=True,
            per_message=False,
            conversation_timeout=TIMEOUT,
            name="facts",
        )


def _step(choice: str) -> re.Pattern[str]:
    """The presses of one step: a topic or a source picked, by an id as content writes it."""
    return FLOW.pattern(f"{re.escape(choice)}[a-z0-9-]{{1,40}}")


def register(app: App) -> None:
    # The gate covers the whole conversation, its steps' buttons included.
    admin_only(app, [conversation()])
