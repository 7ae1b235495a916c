"""/addevent, /editevent, /cancelevent: events written by admins, previewed, then confirmed.

Input is checked by the rules content/ obeys (bot/curation/content.py, bot/curation/moments.py), so
that what an admin writes always exports as valid content. Each command answers with a preview, as
users will see the event, and Confirm/Cancel buttons; the draft waits in the admin's drafts under
the token the buttons carry (a restart forgets it). An edit remembers the version it showed, so a
change made meanwhile by another admin is refused, never overwritten. A press finds only the
presser's own drafts, so a press on a button nobody drafted for changes nothing.

Saving refreshes the knowledge; the digest tick then sends the "moved" and "cancelled" notices
and plans reminders at the new time from the event rows themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import rendering
from bot.context import App, BotData, Context, pressed, texts
from bot.curation.admins import Drafts, admin_named, admin_only
from bot.curation.content import ID_PATTERN, KINDS, Field
from bot.curation.moments import (
    SKIPPED,
    UNKNOWN_ZONE,
    Moment,
    MomentError,
    examples,
    parse,
    written,
)
from bot.knowledge import refresh
from bot.telegram.callbacks import CallbackData
from bot.telegram.keyboards import button, keyboard
from bot.telegram.replies import replace, reply
from bot.texts import Html, Texts, escape, join
from storage import curation
from storage.curation import ADD, CANCEL, EDIT, Conflict, CurationError, Duplicate, NotFound
from storage.events import period_end
from storage.models import Change, Event

# The limits content/ sets on each event field.
FIELDS: dict[str, Field] = {
    f.name: f for f in next(k for k in KINDS if k.table == "events").fields
}
# What /editevent can change, as admins name it.
EDITABLE = ("title", "description", "place", "start", "end", "source")
NO_END = "-"


@dataclass(frozen=True)
class DraftAnswer(CallbackData):
    prefix: ClassVar[str] = "aev"
    # "ok" to save the draft, "no" to drop it.
    answer: str
    token: str


@dataclass
class Draft:
    """A change waiting for its admin's Confirm."""

    action: str
    event_id: str
    values: dict[str, Any]
    # The version the preview showed; None for an event still to be added.
    seen_version: int | None = None


class Invalid(Exception):
    """Input that cannot become (part of) an event; the message says why and how to fix it."""

    def __init__(self, message: Html) -> None:
        super().__init__(message)
        self.message = message


async def add_event(update: Update, context: Context) -> None:
    """/addevent id | title | start | place | source | description [| end]"""
    t, data = texts(update), context.bot_data
    parts = [part.strip() for part in _payload(update).split("|")]
    if len(parts) not in (6, 7):
        await reply(update, t("admin_events.add_form", count=len(parts), **_examples(data)))
        return
    try:
        values, start = await _new_event(t, data, parts)
    except Invalid as error:
        await reply(update, error.message)
        return
    event = Event(**values)
    notes = [_zone_note(t, start), *_twice_note(t, start)]
    preview = t(
        "admin_events.preview_add",
        id=event.id,
        event=_shown(t, data, event),
        notes=join(notes),
    )
    await _ask(update, context, Draft(ADD, event.id, values), preview)


async def edit_event(update: Update, context: Context) -> None:
    """/editevent id shows the fields; /editevent id field = value previews the change."""
    t, data = texts(update), context.bot_data
    words = _payload(update).split(maxsplit=1)
    if not words:
        await reply(update, t("admin_events.edit_usage"))
        return
    event = await _event(data, words[0])
    if event is None:
        await reply(update, await _unknown_event(t, data, words[0]))
        return
    name, equals, value = (words[1] if len(words) > 1 else "").partition("=")
    if not equals:
        await reply(update, _fields(t, event))
        return
    name = name.strip().lower()
    try:
        changes, notes = _changes(t, data, event, name, value.strip())
    except Invalid as error:
        await reply(update, error.message)
        return
    after = _with(event, changes)
    preview = t(
        "admin_events.preview_edit",
        id=event.id,
        before=_shown(t, data, event),
        after=_shown(t, data, after),
        notes=join(notes),
    )
    draft = Draft(EDIT, event.id, changes, seen_version=event.version)
    await _ask(update, context, draft, preview)


async def cancel_event(update: Update, context: Context) -> None:
    """/cancelevent id: subscribers who were reminded of it are told, once confirmed."""
    t, data = texts(update), context.bot_data
    words = _payload(update).split()
    if len(words) != 1:
        await reply(update, t("admin_events.cancel_usage"))
        return
    event = await _event(data, words[0])
    if event is None:
        await reply(update, await _unknown_event(t, data, words[0]))
        return
    if event.status == "cancelled":
        await reply(update, t("admin_events.already_cancelled", id=event.id))
        return
    preview = t("admin_events.preview_cancel", id=event.id, event=_shown(t, data, event))
    draft = Draft(CANCEL, event.id, {"status": "cancelled"}, seen_version=event.version)
    await _ask(update, context, draft, preview)


async def answer_draft(update: Update, context: Context) -> None:
    """Confirm saves the draft (if nobody changed the event since the preview); Cancel drops it."""
    query, data = pressed(update)
    await query.answer()
    t, pressed_answer = texts(update), DraftAnswer.parse(data)
    draft = _drafts(context).pop(pressed_answer.token)
    if draft is None:
        await replace(query, t("admin_events.gone"))
        return
    if pressed_answer.answer != "ok":
        await replace(query, t("admin_events.dropped"))
        return
    admin_id = update.effective_user.id if update.effective_user else 0
    await replace(query, await _save(t, context.bot_data, draft, admin_id))


async def _save(t: Texts, data: BotData, draft: Draft, admin_id: int) -> Html:
    """Write the draft with its history; the reply says what happened."""
    now = data.clock.now()
    starts_at = draft.values.get("starts_at")
    if starts_at is not None:
        start_over = period_end(
            starts_at, precision=draft.values["precision"], zone=draft.values["zone"]
        )
        if start_over <= now:
            return t("admin_events.passed_meanwhile")
    try:
        async with data.sessions.begin() as session:
            if draft.action == ADD:
                last = await session.scalar(select(func.max(Event.position)))
                values = {**draft.values, "position": (last or 0) + 1}
                done = await curation.add(session, "event", values, admin_id=admin_id, now=now)
            else:
                done = await curation.edit(
                    session,
                    "event",
                    draft.event_id,
                    draft.values,
                    seen_version=draft.seen_version,
                    admin_id=admin_id,
                    now=now,
                    action=draft.action,
                )
    except Duplicate:
        return t("admin_events.duplicate", id=draft.event_id)
    except Conflict as conflict:
        return await _conflict(t, data, draft.event_id, conflict.latest)
    except StaleDataError:
        # Another admin's edit committed between our read and our write.
        return await _conflict(t, data, draft.event_id, None)
    except CurationError as error:
        return t("admin_events.not_saved", reason=str(error))
    await refresh(data)
    return _saved(t, draft, done)


def _saved(t: Texts, draft: Draft, done: Change) -> Html:
    if draft.action == ADD:
        return t("admin_events.added", id=draft.event_id, change=done.id)
    if draft.action == CANCEL:
        return t("admin_events.cancelled", id=draft.event_id, change=done.id)
    return t("admin_events.edited", id=draft.event_id, change=done.id)


async def _conflict(t: Texts, data: BotData, event_id: str, latest: curation.Stamp | None) -> Html:
    """Who got there first, and the event as it is now: the admin decides again."""
    async with data.sessions() as session:
        event = await session.get(Event, event_id)
        if latest is None:
            change = await curation.latest_change(session, "event", event_id)
            latest = (
                None if change is None else curation.Stamp(change.id, change.admin_id, change.at)
            )
    current = _shown(t, data, event) if event else Html("")
    if latest is None:
        return t("admin_events.conflict_sync", id=event_id, event=current)
    at = written(latest.at, precision="minute", zone=data.settings.zone.key)
    admin = admin_named(t, data.admin_names, latest.admin_id)
    return t("admin_events.conflict", id=event_id, admin=admin, at=at, event=current)


async def _ask(update: Update, context: Context, draft: Draft, preview: Html) -> None:
    """Show the preview with Confirm/Cancel, and keep the draft under the buttons' token."""
    t = texts(update)
    token = _drafts(context).add(draft)
    buttons: InlineKeyboardMarkup | None = keyboard(
        [
            [
                button(t("admin_events.button_confirm"), DraftAnswer("ok", token)),
                button(t("admin_events.button_cancel"), DraftAnswer("no", token)),
            ]
        ]
    )
    await reply(update, preview, buttons)


def _drafts(context: Context) -> Drafts[Draft]:
    return Drafts(context, "events")


def _payload(update: Update) -> str:
    """What follows the command word."""
    message = update.effective_message
    words = (message.text or "").split(maxsplit=1) if message else []
    return words[1] if len(words) > 1 else ""


async def _new_event(t: Texts, data: BotData, parts: list[str]) -> tuple[dict[str, Any], Moment]:
    """The columns of a new event from the admin's parts, each checked as content/ checks it."""
    event_id, title, start_text, place, source, description = parts[:6]
    if not ID_PATTERN.fullmatch(event_id):
        raise Invalid(t("admin_events.bad_id", id=event_id, **_examples(data)))
    if await _event(data, event_id) is not None:
        raise Invalid(t("admin_events.duplicate", id=event_id))
    start = _moment(t, data, "start", start_text, data.settings.zone)
    values = {
        "id": event_id,
        "title": _text(t, "title", title),
        "description": _text(t, "description", description),
        "place": _text(t, "place", place),
        "zone": start.zone.key,
        "precision": start.precision,
        "starts_at": start.at,
        "ends_at": _end(t, data, parts[6], start) if len(parts) == 7 else None,
        "status": "scheduled",
        "source_id": _source(t, data, source),
    }
    return values, start


def _changes(
    t: Texts, data: BotData, event: Event, name: str, value: str
) -> tuple[dict[str, Any], list[Html]]:
    """The columns one /editevent changes, and notes for the preview."""
    if name not in EDITABLE:
        raise Invalid(t("admin_events.unknown_field", field=name, id=event.id))
    notes: list[Html] = []
    if name in ("title", "description", "place"):
        changes: dict[str, Any] = {name: _text(t, name, value)}
    elif name == "source":
        changes = {"source_id": _source(t, data, value)}
    elif name == "end":
        ends_at = None if value == NO_END else _end(t, data, value, _stored_start(event))
        changes = {"ends_at": ends_at}
    else:
        start = _moment(t, data, "start", value, ZoneInfo(event.zone))
        changes = {"zone": start.zone.key, "precision": start.precision, "starts_at": start.at}
        if event.ends_at is not None:
            if start.precision != event.precision:
                raise Invalid(
                    t("admin_events.start_precision", id=event.id, precision=event.precision)
                )
            # The end keeps its local date and time, read in the new start's zone.
            end_text = _local(event.ends_at, event.precision, event.zone)
            changes["ends_at"] = _end(t, data, end_text, start)
        if start.zone.key != event.zone:
            notes.append(t("admin_events.zone_given", zone=start.zone.key))
        notes += _twice_note(t, start)
    if all(getattr(event, column) == new for column, new in changes.items()):
        raise Invalid(t("admin_events.no_change", field=name, id=event.id))
    return changes, notes


def _text(t: Texts, name: str, value: str) -> str:
    """A text field within content's limit for it."""
    limit = FIELDS[name].limit
    if not value:
        raise Invalid(t("admin_events.empty_field", field=name))
    if len(value) > limit:
        raise Invalid(t("admin_events.too_long", field=name, length=len(value), limit=limit))
    return value


def _source(t: Texts, data: BotData, source_id: str) -> str:
    known = data.knowledge.sources
    if source_id not in known:
        raise Invalid(
            t("admin_events.unknown_source", source=source_id, sources=_codes(sorted(known)))
        )
    return source_id


def _moment(t: Texts, data: BotData, name: str, text: str, zone: ZoneInfo) -> Moment:
    """A start: readable, in a known zone, existing on the local clock, and not yet over."""
    try:
        moment = parse(text, default_zone=zone)
    except MomentError as error:
        raise Invalid(_moment_problem(t, data, name, error)) from None
    now = data.clock.now()
    if moment.is_past(now):
        current = written(now, precision="minute", zone=moment.zone.key)
        ahead = examples(now, moment.zone)
        raise Invalid(t("admin_events.past", field=name, text=text, now=current, **ahead))
    return moment


def _end(t: Texts, data: BotData, text: str, start: Moment) -> datetime:
    """An end in the start's zone and precision, not before it."""
    try:
        end = parse(text, default_zone=start.zone)
    except MomentError as error:
        raise Invalid(_moment_problem(t, data, "end", error)) from None
    if end.zone.key != start.zone.key:
        raise Invalid(t("admin_events.end_zone", zone=start.zone.key, end_zone=end.zone.key))
    if end.precision != start.precision:
        raise Invalid(
            t(
                "admin_events.end_precision",
                start=start.precision,
                end=end.precision,
                **examples(data.clock.now(), start.zone),
            )
        )
    if end.at < start.at:
        start_text = written(start.at, precision=start.precision, zone=start.zone.key)
        raise Invalid(t("admin_events.end_before_start", end=text, start=start_text))
    return end.at


def _moment_problem(t: Texts, data: BotData, name: str, error: MomentError) -> Html:
    if error.problem == UNKNOWN_ZONE:
        close = ", ".join(error.suggestions) or "Asia/Almaty, Europe/Moscow"
        return t(
            "admin_events.unknown_zone",
            field=name,
            zone=error.text,
            close=close,
            **_examples(data),
        )
    if error.problem == SKIPPED:
        return t("admin_events.skipped", field=name, text=error.text)
    return t("admin_events.unparsable", field=name, text=error.text, **_examples(data))


def _examples(data: BotData) -> dict[str, str]:
    """Example moments for a text, ahead of the bot's clock in the bot's zone."""
    return examples(data.clock.now(), data.settings.zone)


def _zone_note(t: Texts, start: Moment) -> Html:
    if start.zone_given:
        return t("admin_events.zone_given", zone=start.zone.key)
    return t("admin_events.zone_default", zone=start.zone.key)


def _twice_note(t: Texts, start: Moment) -> list[Html]:
    """A warning when the local time happens twice: the first of the two is the one stored."""
    if not start.twice:
        return []
    utc = written(start.at, precision="minute", zone="UTC")
    local = written(start.at, precision="minute", zone=start.zone.key)
    return [t("admin_events.twice", local=local, utc=utc)]


def _stored_start(event: Event) -> Moment:
    """The event's start as a Moment, to check a new end against."""
    zone = ZoneInfo(event.zone)
    return Moment(event.precision, event.starts_at, zone, zone_given=True, twice=False)


def _local(at: datetime, precision: str, zone: str) -> str:
    """A stored moment as a local date and time, without its zone."""
    return written(at, precision=precision, zone=zone).rsplit(" ", 1)[0]


async def _event(data: BotData, event_id: str) -> Event | None:
    """The event, cancelled ones included (the knowledge holds only scheduled ones)."""
    async with data.sessions() as session:
        try:
            event: Event = await curation.get(session, "event", event_id)
        except NotFound:
            return None
    return event


async def _unknown_event(t: Texts, data: BotData, event_id: str) -> Html:
    async with data.sessions() as session:
        ids = (await session.scalars(select(Event.id).order_by(Event.starts_at))).all()
    return t("admin_events.unknown_event", id=event_id, ids=_codes(ids))


def _codes(ids: Sequence[str]) -> Html:
    """Ids to copy, one per line."""
    return join([Html(f"<code>{escape(item)}</code>") for item in ids])


def _fields(t: Texts, event: Event) -> Html:
    """Each field as it stands, in the form /editevent takes, and how to change one."""
    start = written(event.starts_at, precision=event.precision, zone=event.zone)
    end = (
        written(event.ends_at, precision=event.precision, zone=event.zone)
        if event.ends_at
        else NO_END
    )
    return t(
        "admin_events.fields",
        id=event.id,
        version=event.version,
        status=event.status,
        title=event.title,
        description=event.description,
        place=event.place,
        start=start,
        end=end,
        source=event.source_id,
    )


def _with(event: Event, changes: dict[str, Any]) -> Event:
    """A detached copy of the event with some columns changed, for the preview."""
    columns = {c.key: getattr(event, c.key) for c in Event.__mapper__.column_attrs}
    return Event(**{**columns, **changes})


def _shown(t: Texts, data: BotData, event: Event) -> Html:
    """The event as users see it, with its source."""
    source = data.knowledge.sources.get(event.source_id)
    line = rendering.event_line(t, event, language=t.language)
    if event.status == "cancelled":
        line = t("admin_events.cancelled_mark", event=line)
    sources = rendering.source_line(t, [source] if source else [], language=t.language)
    return join([line, sources])


def register(app: App) -> None:
    admin_only(
        app,
        [
            CommandHandler("addevent", add_event),
            CommandHandler("editevent", edit_event),
            CommandHandler("cancelevent", cancel_event),
            CallbackQueryHandler(answer_draft, pattern=DraftAnswer.pattern()),
        ],
    )
