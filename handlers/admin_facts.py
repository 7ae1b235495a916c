"""/addfact, /editfact, /delfact, /restore: admins curate facts from their private chat.

Adding and editing end in a preview, shown as users will see it, with Confirm and Cancel; only
Confirm writes. The draft waits in ``user_data`` (a restart forgets it) with the version of the
fact the admin was shown, so an edit made meanwhile by someone else is reported, not overwritten.
Every button of a step carries the draft's token: one left from an older draft does nothing.
Deleting is soft and undone by /restore, so it asks for no confirmation.
"""

from __future__ import annotations

import difflib
import secrets
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import rendering
from bot.context import App, Context, pressed, texts
from bot.curation import forms as fact_forms
from bot.curation.admins import admin_named, admin_only
from bot.curation.forms import FACT_FIELDS, FormError, SourceChoice
from bot.knowledge import refresh
from bot.telegram.callbacks import CallbackData
from bot.telegram.keyboards import button, keyboard
from bot.telegram.replies import drop_buttons, reply
from bot.texts import Html, Texts
from storage import curation
from storage.models import Fact, Source, Topic

TOPIC, TITLE, TEXT, SOURCE, CONFIRM = range(5)
END = ConversationHandler.END
TIMEOUT = timedelta(minutes=15)
# Known sources offered as buttons; any other is typed by id.
SOURCE_BUTTONS = 8
DRAFT = "fact_draft"
TYPED = filters.TEXT & ~filters.COMMAND


@dataclass(frozen=True)
class PickTopic(CallbackData):
    prefix: ClassVar[str] = "aft"
    token: str
    topic: str


@dataclass(frozen=True)
class PickSource(CallbackData):
    prefix: ClassVar[str] = "afs"
    token: str
    source: str


@dataclass(frozen=True)
class Decide(CallbackData):
    """Confirm ("yes") or Cancel ("no") under the preview of the draft ``token``."""

    prefix: ClassVar[str] = "afd"
    choice: str
    token: str


@dataclass
class Draft:
    """A fact being added (``before`` is None) or changed, until it is confirmed."""

    # Tells this draft's preview from an older one whose buttons are still on screen.
    token: str = field(default_factory=lambda: secrets.token_hex(4))
    fact_id: str = ""
    topic: Topic | None = None
    title: str = ""
    text: str = ""
    source: SourceChoice | None = None
    # For an edit: the fact as shown, whose version the change is made on, and what changes.
    before: Fact | None = None
    field: str = ""

    def fact(self) -> Fact:
        """The fact as it will be saved."""
        assert self.topic is not None
        assert self.source is not None
        return Fact(
            id=self.fact_id,
            topic=self.topic.id,
            title=self.title,
            text=self.text,
            source_id=self.source.source.id,
        )


def _rest(update: Update) -> str:
    """What follows the command, line breaks included."""
    parts = _typed(update).split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


def _typed(update: Update) -> str:
    """The message as plain text: formatting the admin applied is not taken as markup."""
    message = update.effective_message
    return message.text if message and message.text else ""


def _admin(update: Update) -> int:
    user = update.effective_user
    assert user is not None  # the admin filter let it through
    return user.id


def _now(context: Context) -> datetime:
    return context.bot_data.clock.now()


def _draft(context: Context) -> Draft:
    assert context.user_data is not None  # conversations are per user
    draft = context.user_data.get(DRAFT)
    if not isinstance(draft, Draft):
        draft = context.user_data[DRAFT] = Draft()
    return draft


def _keep(context: Context, draft: Draft) -> None:
    assert context.user_data is not None
    context.user_data[DRAFT] = draft


def _drop(context: Context) -> None:
    if context.user_data is not None:
        context.user_data.pop(DRAFT, None)


def _value(item: Fact, name: str) -> str:
    """A field as /editfact names it."""
    value: str = getattr(item, "source_id" if name == "source" else name)
    return value


def _view(t: Texts, context: Context, item: Fact, source: Source) -> Html:
    """The fact exactly as /facts shows it."""
    known = context.bot_data.knowledge
    topic = next((topic for topic in known.topics if topic.id == item.topic), None)
    return t(
        "facts.page",
        topic=topic.title if topic else item.topic,
        paging=Html(""),
        facts=rendering.fact(t, item),
        sources=rendering.source_line(t, [source], language=t.language),
    )


def _new_source_note(t: Texts, choice: SourceChoice) -> Html:
    if not choice.new:
        return Html("")
    source = choice.source
    return t(
        "admin_facts.new_source",
        id=source.id,
        title=source.title,
        publisher=source.publisher,
        cited=source.cited.isoformat() if source.cited else "",
    )


def _decision(t: Texts, draft: Draft) -> InlineKeyboardMarkup | None:
    return keyboard(
        [
            [
                button(t("admin_facts.confirm"), Decide("yes", draft.token)),
                button(t("admin_facts.cancel"), Decide("no", draft.token)),
            ]
        ]
    )


async def _taken(session: AsyncSession, model: type[Fact] | type[Source]) -> set[str]:
    """Ids in use, deleted facts' included: an id is never given twice."""
    return set((await session.scalars(select(model.id))).all())


async def _preview(update: Update, context: Context, draft: Draft) -> int:
    """Show the draft as it will be saved, with the id a new fact will get; await a decision."""
    t = texts(update)
    assert draft.source is not None
    if draft.before is None:
        async with context.bot_data.sessions() as session:
            base = fact_forms.slug(draft.title)
            draft.fact_id = fact_forms.unique_id(base, await _taken(session, Fact))
            if draft.source.new:
                source = draft.source.source
                base = fact_forms.slug(source.title, fallback="source")
                source.id = fact_forms.unique_id(base, await _taken(session, Source))
        text = t(
            "admin_facts.preview_add",
            id=draft.fact_id,
            view=_view(t, context, draft.fact(), draft.source.source),
            new_source=_new_source_note(t, draft.source),
        )
    else:
        text = t(
            "admin_facts.preview_edit",
            id=draft.fact_id,
            field=draft.field,
            before=_value(draft.before, draft.field),
            after=_value(draft.fact(), draft.field),
            view=_view(t, context, draft.fact(), draft.source.source),
            new_source=_new_source_note(t, draft.source),
        )
    _keep(context, draft)
    await reply(update, text, _decision(t, draft))
    return CONFIRM


def _source(context: Context, typed: str) -> SourceChoice:
    data = context.bot_data
    today = _now(context).astimezone(data.settings.zone).date()
    return fact_forms.source(data.knowledge, typed, today=today, taken=data.knowledge.sources)


async def start_adding(update: Update, context: Context) -> int:
    """With ``topic | title | text | source``, straight to the preview; without, step by step."""
    t = texts(update)
    _drop(context)
    rest = _rest(update)
    if rest.strip():
        known = context.bot_data.knowledge
        try:
            form = fact_forms.one_line(rest)
            draft = Draft(
                topic=fact_forms.topic(known, form.topic),
                title=fact_forms.check("title", form.title),
                text=fact_forms.check("text", form.text),
                source=_source(context, form.source),
            )
        except FormError as error:
            await reply(update, error.message(t))
            return END
        return await _preview(update, context, draft)
    token = _draft(context).token
    topics = context.bot_data.knowledge.topics
    rows = [[button(topic.title, PickTopic(token, topic.id))] for topic in topics]
    await reply(update, t("admin_facts.ask_topic"), keyboard(rows))
    return TOPIC


async def _take_topic(update: Update, context: Context, typed: str) -> int | None:
    t = texts(update)
    try:
        topic = fact_forms.topic(context.bot_data.knowledge, typed)
    except FormError as error:
        await reply(update, error.message(t))
        return None
    _draft(context).topic = topic
    await reply(
        update, t("admin_facts.ask_title", topic=topic.title, limit=FACT_FIELDS["title"].limit)
    )
    return TITLE


async def choose_topic(update: Update, context: Context) -> int | None:
    query, data = pressed(update)
    press = PickTopic.parse(data)
    if not await _on_current_draft(update, context, press.token):
        return None
    await query.answer()
    return await _take_topic(update, context, press.topic)


async def type_topic(update: Update, context: Context) -> int | None:
    return await _take_topic(update, context, _typed(update))


async def take_title(update: Update, context: Context) -> int | None:
    t = texts(update)
    try:
        _draft(context).title = fact_forms.check("title", _typed(update))
    except FormError as error:
        await reply(update, error.message(t))
        return None
    await reply(update, t("admin_facts.ask_text", limit=FACT_FIELDS["text"].limit))
    return TEXT


async def take_text(update: Update, context: Context) -> int | None:
    t = texts(update)
    try:
        _draft(context).text = fact_forms.check("text", _typed(update))
    except FormError as error:
        await reply(update, error.message(t))
        return None
    sources = list(context.bot_data.knowledge.sources.values())[:SOURCE_BUTTONS]
    token = _draft(context).token
    rows = [[button(source.title, PickSource(token, source.id))] for source in sources]
    await reply(update, t("admin_facts.ask_source"), keyboard(rows))
    return SOURCE


async def _take_source(update: Update, context: Context, typed: str) -> int | None:
    draft = _draft(context)
    try:
        draft.source = _source(context, typed)
    except FormError as error:
        await reply(update, error.message(texts(update)))
        return None
    return await _preview(update, context, draft)


async def choose_source(update: Update, context: Context) -> int | None:
    query, data = pressed(update)
    press = PickSource.parse(data)
    if not await _on_current_draft(update, context, press.token):
        return None
    await query.answer()
    return await _take_source(update, context, press.source)


async def type_source(update: Update, context: Context) -> int | None:
    return await _take_source(update, context, _typed(update))


async def start_editing(update: Update, context: Context) -> int:
    """``<id>`` shows the fact's fields; ``<id> <field> = <value>`` previews the change."""
    t = texts(update)
    _drop(context)
    try:
        form = fact_forms.edit_form(_rest(update))
        async with context.bot_data.sessions() as session:
            fact = await _fact(session, form.fact_id)
        if form.field is None or form.value is None:
            await reply(update, _fields_view(t, fact))
            return END
        if fact.deleted_at is not None:
            await reply(update, t("admin_facts.edit_deleted", id=fact.id))
            return END
        draft = _edit_draft(context, fact, form.field, form.value)
    except FormError as error:
        await reply(update, error.message(t))
        return END
    if _value(draft.fact(), draft.field) == _value(fact, draft.field):
        await reply(update, t("admin_facts.unchanged", id=fact.id, field=draft.field))
        return END
    return await _preview(update, context, draft)


def _edit_draft(context: Context, fact: Fact, name: str, value: str) -> Draft:
    known = context.bot_data.knowledge
    topic = next((item for item in known.topics if item.id == fact.topic), None)
    source = known.sources.get(fact.source_id)
    assert topic is not None
    assert source is not None
    draft = Draft(
        fact_id=fact.id,
        topic=topic,
        title=fact.title,
        text=fact.text,
        source=SourceChoice(source, new=False),
        before=fact,
        field=name,
    )
    if name == "topic":
        draft.topic = fact_forms.topic(known, value)
    elif name == "source":
        draft.source = _source(context, value)
    else:
        setattr(draft, name, fact_forms.check(name, value))
    return draft


async def _fact(session: AsyncSession, fact_id: str) -> Fact:
    """The fact, deleted or not; for an unknown id, the closest ones are named."""
    try:
        found: Fact = await curation.get(session, "fact", fact_id)
    except curation.NotFound:
        close = difflib.get_close_matches(fact_id, await _taken(session, Fact), n=3, cutoff=0.5)
        shown, ids = fact_forms.echo(fact_id), ", ".join(close)
        if close:
            raise FormError(
                lambda t: t("admin_facts.unknown_id_close", id=shown, ids=ids)
            ) from None
        raise FormError(lambda t: t("admin_facts.unknown_id", id=shown)) from None
    return found


def _fields_view(t: Texts, fact: Fact) -> Html:
    return t(
        "admin_facts.fields",
        id=fact.id,
        state=t("admin_facts.deleted_mark") if fact.deleted_at else Html(""),
        topic=fact.topic,
        title=fact.title,
        text=fact.text,
        source=fact.source_id,
    )


async def _on_current_draft(update: Update, context: Context, token: str) -> bool:
    """Whether a press is on a button of the draft under way; one of an older draft's is
    answered, and changes nothing."""
    draft = context.user_data.get(DRAFT) if context.user_data is not None else None
    if isinstance(draft, Draft) and draft.token == token:
        return True
    query, _ = pressed(update)
    await query.answer(texts(update)("admin_facts.outdated"), show_alert=True)
    return False


async def decide(update: Update, context: Context) -> int | None:
    """Confirm writes the draft, or says why it cannot; Cancel drops it."""
    query, data = pressed(update)
    wanted = Decide.parse(data)
    if not await _on_current_draft(update, context, wanted.token):
        return None
    draft = _draft(context)
    await query.answer()
    # The buttons go, so that a second tap cannot save the fact twice.
    await drop_buttons(query)
    if wanted.choice != "yes":
        return await cancel(update, context)
    if draft.before is None:
        return await _save_new(update, context, draft)
    return await _save_edit(update, context, draft)


async def _add_source(
    session: AsyncSession, choice: SourceChoice | None, *, admin_id: int, now: datetime
) -> None:
    """Create the source a draft cites by a new URL, in the fact's own transaction."""
    if choice is None or not choice.new:
        return
    source = choice.source
    names = ("id", "title", "publisher", "published", "cited", "url")
    values = {name: getattr(source, name) for name in names}
    await curation.add(session, "source", values, admin_id=admin_id, now=now)


async def _save_new(update: Update, context: Context, draft: Draft) -> int:
    t = texts(update)
    item, admin_id, now = draft.fact(), _admin(update), _now(context)
    try:
        async with context.bot_data.sessions.begin() as session:
            await _add_source(session, draft.source, admin_id=admin_id, now=now)
            last = await session.scalar(select(func.max(Fact.position)))
            values = {
                "id": item.id,
                "topic": item.topic,
                "title": item.title,
                "text": item.text,
                "source_id": item.source_id,
                # After every fact there is, so it comes last in its topic.
                "position": (last or 0) + 1,
            }
            await curation.add(session, "fact", values, admin_id=admin_id, now=now)
    except curation.Duplicate:
        # Another admin took the id since the preview: show the one it would get now.
        await reply(update, t("admin_facts.id_taken"))
        return await _preview(update, context, draft)
    await refresh(context.bot_data)
    _drop(context)
    await reply(update, t("admin_facts.added", id=item.id, topic=item.topic))
    return END


async def _save_edit(update: Update, context: Context, draft: Draft) -> int:
    t = texts(update)
    assert draft.before is not None
    name = "source_id" if draft.field == "source" else draft.field
    admin_id, now = _admin(update), _now(context)
    try:
        async with context.bot_data.sessions.begin() as session:
            await _add_source(session, draft.source, admin_id=admin_id, now=now)
            await curation.edit(
                session,
                "fact",
                draft.fact_id,
                {name: getattr(draft.fact(), name)},
                seen_version=draft.before.version,
                admin_id=admin_id,
                now=now,
            )
    except (curation.Conflict, StaleDataError):
        # StaleDataError: the other edit was committed between our read and our write.
        _drop(context)
        await _report_conflict(update, context, draft.fact_id)
        return END
    await refresh(context.bot_data)
    _drop(context)
    await reply(update, t("admin_facts.edited", id=draft.fact_id, field=draft.field))
    return END


async def _report_conflict(update: Update, context: Context, fact_id: str) -> None:
    """Who changed the fact first and when, and the fact as it is now."""
    t = texts(update)
    async with context.bot_data.sessions() as session:
        fact = await _fact(session, fact_id)
        latest = await curation.latest_change(session, "fact", fact_id)
    zone = context.bot_data.settings.zone
    if latest is None:
        who = t("admin_facts.changed_by_sync")
    else:
        at = latest.at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        admin = admin_named(t, context.bot_data.admin_names, latest.admin_id)
        who = t("admin_facts.changed_by", admin=admin, at=at, zone=zone.key)
    fields = _fields_view(t, fact)
    await reply(update, t("admin_facts.conflict", id=fact_id, who=who, fields=fields))


async def cancel(update: Update, context: Context) -> int:
    _drop(context)
    await reply(update, texts(update)("admin_facts.cancelled"))
    return END


async def remind_to_decide(update: Update, context: Context) -> None:
    """Text typed under a preview is not a search: the draft still waits for a decision."""
    await reply(update, texts(update)("admin_facts.decide_first"))


async def time_out(update: Update, context: Context) -> None:
    _drop(context)
    minutes = int(TIMEOUT / timedelta(minutes=1))
    await reply(update, texts(update)("admin_facts.timed_out", minutes=minutes))


async def delete_fact(update: Update, context: Context) -> None:
    """Hide a fact from /facts and /search; /restore brings it back."""
    await _set_deleted(update, context, delete=True)


async def restore_fact(update: Update, context: Context) -> None:
    await _set_deleted(update, context, delete=False)


async def _set_deleted(update: Update, context: Context, *, delete: bool) -> None:
    t = texts(update)
    now = _now(context)
    try:
        fact_id = fact_forms.fact_id(_rest(update), command="delfact" if delete else "restore")
        async with context.bot_data.sessions.begin() as session:
            fact = await _fact(session, fact_id)
            already = (fact.deleted_at is not None) == delete
            if not already:
                await curation.edit(
                    session,
                    "fact",
                    fact.id,
                    {"deleted_at": now if delete else None},
                    seen_version=fact.version,
                    admin_id=_admin(update),
                    now=now,
                    action=curation.DELETE if delete else curation.RESTORE,
                )
    except FormError as error:
        await reply(update, error.message(t))
        return
    if already:
        if delete:
            await reply(update, t("admin_facts.already_deleted", id=fact.id))
        else:
            await reply(update, t("admin_facts.not_deleted", id=fact.id))
        return
    await refresh(context.bot_data)
    if delete:
        await reply(update, t("admin_facts.deleted", id=fact.id))
    else:
        await reply(update, t("admin_facts.restored", id=fact.id, topic=fact.topic))


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
            ],
            states={
                TOPIC: [
                    CallbackQueryHandler(choose_topic, pattern=PickTopic.pattern()),
                    MessageHandler(TYPED, type_topic),
                ],
                TITLE: [MessageHandler(TYPED, take_title)],
                TEXT: [MessageHandler(TYPED, take_text)],
                SOURCE: [
                    CallbackQueryHandler(choose_source, pattern=PickSource.pattern()),
                    MessageHandler(TYPED, type_source),
                ],
                CONFIRM: [
                    CallbackQueryHandler(decide, pattern=Decide.pattern()),
                    MessageHandler(TYPED, remind_to_decide),
                ],
                ConversationHandler.TIMEOUT: [TypeHandler(Update, time_out)],
            },
            fallbacks=[CommandHandler("cancel", cancel)],
            # /addfact or /editfact in the middle of a draft starts afresh.
            allow_reentry=True,
            per_chat=True,
            per_user=True,
            per_message=False,
            conversation_timeout=TIMEOUT,
            name="facts",
        )


def register(app: App) -> None:
    # The gate covers the whole conversation, its steps' buttons included.
    admin_only(
        app,
        [
            conversation(),
            CommandHandler("delfact", delete_fact),
            CommandHandler("restore", restore_fact),
        ],
    )
