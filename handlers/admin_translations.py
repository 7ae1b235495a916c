"""/translate: curators give an item's field in Russian or Kazakh, from their private chat.

Step by step, through one draft (bot/curation/translation_drafts.py): the item by id (a choice
when several kinds share it), the language and the field as buttons, the text typed, whose words
they are (ours, or a source in that language), then a preview with Confirm and Cancel
(bot/curation/drafts.py). A translation changed since it was shown is reported, not overwritten.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.context import App, Context
from bot.curation import translation_drafts as drafts
from bot.curation.admins import admin_only
from bot.curation.content import ID_PATTERN, TRANSLATED
from bot.curation.drafts import DraftPress, Flow, changed_by
from bot.curation.fact_forms import echo
from bot.curation.translation_drafts import Draft, TextError
from bot.knowledge import refresh
from bot.reader.wording import KIND_OF, Worded
from bot.telegram.keyboards import button, keyboard
from bot.telegram.replies import reply
from bot.texts import Html
from storage import curation, translations

KIND, LANGUAGE, FIELD, TEXT, SOURCE, CONFIRM = range(6)
END = ConversationHandler.END
TIMEOUT = timedelta(minutes=15)
TYPED = filters.TEXT & ~filters.COMMAND
# The steps' own choices under the draft: a kind, a language, a field, a source, or ours.
PICK_KIND, PICK_LANGUAGE, PICK_FIELD, PICK_SOURCE, OURS = "k.", "l.", "f.", "s.", "o"
# Sources offered as buttons; any other in the language is typed by id.
SOURCE_BUTTONS = 8


class TranslationFlow(Flow[Draft]):
    """One translation draft at a time: a new /translate makes the older one stale."""

    name = "tr"
    keep = 1

    async def write(self, update: Update, context: Context, draft: Draft, token: str) -> Html:
        t, data = context.texts, context.bot_data
        try:
            async with data.sessions.begin() as session:
                done = await translations.put(
                    session,
                    draft.wanted,
                    text=draft.text,
                    source_id=draft.source_id,
                    seen=draft.seen,
                    admin_id=context.user_id,
                    now=context.now,
                )
        except curation.Conflict as error:
            async with data.sessions() as session:
                now = await translations.current(session, draft.wanted)
            who, current = changed_by(t, context, error.latest), now.text if now else "—"
            values = drafts.shown(t, draft)
            return t("admin_translations.conflict", who=who, current=current, **values)
        await refresh(data)
        return t("admin_translations.saved", change=done.id, **drafts.shown(t, draft))


FLOW = TranslationFlow()


def _latest(context: Context) -> tuple[str, Draft]:
    latest = FLOW.drafts(context).latest()
    if latest is None:
        raise RuntimeError("a step of /translate is reached only with a draft under way")
    return latest


async def start(update: Update, context: Context) -> int:
    """``/translate <id>``: the item's language to choose, or first which item it is."""
    t, known = context.texts, context.bot_data.knowledge
    if context.drafts.get("fact"):
        # /addfact's typed steps come first: they would take the text meant for this one.
        await reply(update, t("admin_translations.busy"))
        return END
    FLOW.drafts(context).clear()
    words = context.command_text.split()
    if len(words) != 1 or not ID_PATTERN.fullmatch(words[0]):
        await reply(update, t("admin_translations.usage"))
        return END
    item_id = words[0]
    found = drafts.named(known, item_id)
    if not found:
        await reply(update, drafts.unknown(t, known, item_id))
        return END
    if len(found) == 1:
        token = FLOW.drafts(context).add(Draft(KIND_OF[type(found[0])], item_id))
        return await _ask_language(update, context, token, found[0])
    token = FLOW.drafts(context).add(Draft("", item_id))
    rows = [
        [button(drafts.kind_label(t, item), FLOW.press(token, PICK_KIND + KIND_OF[type(item)]))]
        for item in found
    ]
    await reply(update, t("admin_translations.ask_kind", id=item_id), keyboard(rows))
    return KIND


async def _item(update: Update, context: Context, draft: Draft) -> Worded | None:
    """The draft's item as readers are shown it; None (and said) if it is shown no more."""
    item = drafts.item_of(context.bot_data.knowledge, draft.kind, draft.item_id)
    if item is None:
        await reply(update, context.texts("admin_translations.gone", id=draft.item_id))
    return item


async def take_kind(update: Update, context: Context) -> int | None:
    choice = await FLOW.given(update, context, PICK_KIND)
    if choice is None:
        return None
    token, draft = _latest(context)
    draft.kind = choice
    item = await _item(update, context, draft)
    return END if item is None else await _ask_language(update, context, token, item)


async def _ask_language(update: Update, context: Context, token: str, item: Worded) -> int:
    t = context.texts
    rows = [
        [button(drafts.language_name(t, code), FLOW.press(token, PICK_LANGUAGE + code))]
        for code in TRANSLATED
    ]
    kind, title = KIND_OF[type(item)], drafts.title_of(item)
    text = t("admin_translations.ask_language", kind=kind, id=item.id, title=title)
    await reply(update, text, keyboard(rows))
    return LANGUAGE


async def take_language(update: Update, context: Context) -> int | None:
    choice = await FLOW.given(update, context, PICK_LANGUAGE)
    if choice is None:
        return None
    t, known = context.texts, context.bot_data.knowledge
    token, draft = _latest(context)
    draft.language = choice
    item = await _item(update, context, draft)
    if item is None:
        return END
    rows = [
        [button(drafts.field_label(known, item, name, draft.language), _field(token, name))]
        for name in drafts.fields_of(item)
    ]
    await reply(update, drafts.field_question(t, known, item, draft), keyboard(rows))
    return FIELD


def _field(token: str, name: str) -> DraftPress:
    return FLOW.press(token, PICK_FIELD + name)


async def take_field(update: Update, context: Context) -> int | None:
    choice = await FLOW.given(update, context, PICK_FIELD)
    if choice is None:
        return None
    known = context.bot_data.knowledge
    _, draft = _latest(context)
    draft.field = choice
    item = await _item(update, context, draft)
    if item is None or draft.field not in drafts.fields_of(item):
        return END
    now = known.translation(draft.kind, draft.item_id, draft.field, draft.language)
    draft.seen = translations.seen_of(now)
    await reply(update, drafts.text_question(context.texts, item, draft, now))
    return TEXT


async def take_text(update: Update, context: Context) -> int | None:
    t, known = context.texts, context.bot_data.knowledge
    token, draft = _latest(context)
    try:
        draft.text = drafts.checked_text(draft, context.text)
    except TextError as error:
        await reply(update, error.message(t))
        return None
    sources = drafts.sources_in(known, draft.language)
    if not sources:
        return await _preview(update, context, draft)
    rows = [[button(t("admin_translations.button_ours"), FLOW.press(token, OURS))]]
    rows += [
        [button(drafts.label(source.title), FLOW.press(token, PICK_SOURCE + source.id))]
        for source in sources[:SOURCE_BUTTONS]
    ]
    text = t("admin_translations.ask_source", **drafts.shown(t, draft))
    await reply(update, text, keyboard(rows))
    return SOURCE


async def take_source(update: Update, context: Context) -> int | None:
    """Ours, or a source in the language: pressed, or its id (or "ours") typed."""
    choice = await FLOW.given(update, context, PICK_SOURCE)
    if choice is None:
        return None
    t, known = context.texts, context.bot_data.knowledge
    _, draft = _latest(context)
    typed = choice.strip()
    ids = [source.id for source in drafts.sources_in(known, draft.language)]
    if typed not in (OURS, "ours", *ids):
        language = drafts.language_name(t, draft.language)
        await reply(
            update, t("admin_translations.unknown_source", id=echo(typed), language=language)
        )
        return None
    draft.source_id = None if typed in (OURS, "ours") else typed
    return await _preview(update, context, draft)


async def _preview(update: Update, context: Context, draft: Draft) -> int:
    t = context.texts
    if (draft.text, draft.source_id) == draft.seen:
        FLOW.drafts(context).clear()
        await reply(update, t("admin_translations.unchanged", **drafts.shown(t, draft)))
        return END
    text = drafts.preview(t, context.bot_data.knowledge, draft)
    await FLOW.offer(update, context, draft, text)
    return CONFIRM


async def decide(update: Update, context: Context) -> int | None:
    """Confirm or Cancel; after a stale press the draft still waits."""
    answered = await FLOW.answer(update, context)
    return None if not answered else CONFIRM if FLOW.drafts(context).latest() else END


async def cancel(update: Update, context: Context) -> int:
    FLOW.drafts(context).clear()
    await reply(update, context.texts("drafts.cancelled"))
    return END


async def time_out(update: Update, context: Context) -> None:
    FLOW.drafts(context).clear()
    minutes = int(TIMEOUT / timedelta(minutes=1))
    await reply(update, context.texts("admin_translations.timed_out", minutes=minutes))


def conversation() -> ConversationHandler[Context]:
    """The steps of /translate, the preview and its decision, cancel and timeout."""
    sources = FLOW.pattern(rf"{OURS}|s\.[a-z0-9][a-z0-9-]{{0,39}}")
    with warnings.catch_warnings():
        # As /addfact's: the steps' buttons sit on several messages, tracked per chat and user.
        warnings.filterwarnings("ignore", message="If 'per_message=False'")
        return ConversationHandler(
            entry_points=[CommandHandler("translate", start)],
            states={
                KIND: [CallbackQueryHandler(take_kind, pattern=FLOW.pattern(r"k\.[a-z]{1,16}"))],
                LANGUAGE: [
                    CallbackQueryHandler(take_language, pattern=FLOW.pattern(r"l\.(?:ru|kk)"))
                ],
                FIELD: [CallbackQueryHandler(take_field, pattern=FLOW.pattern(r"f\.[a-z]{1,32}"))],
                TEXT: [MessageHandler(TYPED, take_text)],
                SOURCE: [
                    CallbackQueryHandler(take_source, pattern=sources),
                    MessageHandler(TYPED, take_source),
                ],
                # No typed answer here: text under the preview is a search, and an /addfact
                # begun meanwhile takes its own.
                CONFIRM: [CallbackQueryHandler(decide, pattern=FLOW.pattern())],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, time_out)],
            },
            fallbacks=[CommandHandler("cancel", cancel)],
            allow_reentry=True,
            per_message=False,
            conversation_timeout=TIMEOUT,
            name="translations",
        )


def register(app: App) -> None:
    # The gate covers the whole conversation, its steps' buttons included.
    admin_only(app, [conversation()])
