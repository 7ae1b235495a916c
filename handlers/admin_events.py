"""/addevent, /editevent, /cancelevent: events written by admins, previewed, then confirmed.

Input is checked by the rules content/ obeys (bot/curation/event_forms.py), so that what an admin
writes always exports as valid content. Each command answers with a preview, as users will see
the event, with Confirm and Cancel (bot/curation/drafts.py). An edit remembers the version it
showed, so a change made meanwhile by another admin is refused, never overwritten.

Saving refreshes the knowledge; the digest tick then sends the "moved" and "cancelled" notices
and plans reminders at the new time from the event rows themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from telegram import Update
from telegram.ext import CommandHandler

from bot import rendering
from bot.context import App, BotData, Context
from bot.curation import event_forms as forms
from bot.curation.admins import admin_only
from bot.curation.drafts import Flow, conflict
from bot.curation.event_forms import NO_END, Invalid
from bot.curation.moments import written
from bot.knowledge import refresh
from bot.reader.wording import Wording
from bot.telegram.replies import reply
from bot.texts import Html, Texts, join
from storage import curation, events
from storage.curation import ADD, CANCEL, Conflict, CurationError, Duplicate, NotFound
from storage.events import period_end
from storage.models import Event


@dataclass
class Draft:
    """A change waiting for its admin's Confirm."""

    action: str
    event_id: str
    values: dict[str, Any]
    # The version the preview showed; None for an event still to be added.
    seen_version: int | None = None


class EventFlow(Flow[Draft]):
    name = "event"

    async def write(self, update: Update, context: Context, draft: Draft, token: str) -> Html:
        """Write the draft with its history; the preview becomes what happened."""
        t, data, now = context.texts, context.bot_data, context.now
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
                    done = await curation.add(
                        session, "event", draft.values, admin_id=context.user_id, now=now
                    )
                else:
                    done = await curation.edit(
                        session,
                        "event",
                        draft.event_id,
                        draft.values,
                        seen_version=draft.seen_version,
                        admin_id=context.user_id,
                        now=now,
                        action=draft.action,
                    )
        except Duplicate:
            return t("admin_events.duplicate", id=draft.event_id)
        except Conflict as error:
            shown = partial(_shown, t, data)
            return await conflict(context, error, shown)
        except CurationError as error:
            return t("admin_events.not_saved", reason=str(error))
        await refresh(data)
        if draft.action == ADD:
            return t("admin_events.added", id=draft.event_id, change=done.id)
        if draft.action == CANCEL:
            return t("admin_events.cancelled", id=draft.event_id, change=done.id)
        return t("admin_events.edited", id=draft.event_id, change=done.id)


FLOW = EventFlow()


async def add_event(update: Update, context: Context) -> None:
    """/addevent id | title | start | place | source | description [| end]"""
    t, data = context.texts, context.bot_data
    parts = [part.strip() for part in context.command_text.split("|")]
    if len(parts) not in (6, 7):
        examples = forms.examples_for(data)
        await reply(update, t("admin_events.add_form", count=len(parts), **examples))
        return
    try:
        values, start = await forms.new_event(
            t, data, parts, exists=lambda event_id: _exists(data, event_id)
        )
    except Invalid as error:
        await reply(update, error.message)
        return
    event = Event(**values)
    notes = [forms.zone_note(t, start), *forms.twice_note(t, start)]
    preview = t(
        "admin_events.preview_add",
        id=event.id,
        event=_shown(t, data, event),
        notes=join(notes),
    )
    await FLOW.offer(update, context, Draft(ADD, event.id, values), preview)


async def edit_event(update: Update, context: Context) -> None:
    """/editevent id shows the fields; /editevent id field = value previews the change."""
    t, data = context.texts, context.bot_data
    words = context.command_text.split(maxsplit=1)
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
        changes, notes = forms.changes(t, data, event, name, value.strip())
    except Invalid as error:
        await reply(update, error.message)
        return
    preview = t(
        "admin_events.preview_edit",
        id=event.id,
        before=_shown(t, data, event),
        after=_shown(t, data, _with(event, changes)),
        notes=join(notes),
    )
    draft = Draft(curation.EDIT, event.id, changes, seen_version=event.version)
    await FLOW.offer(update, context, draft, preview)


async def cancel_event(update: Update, context: Context) -> None:
    """/cancelevent id: subscribers who were reminded of it are told, once confirmed."""
    t, data = context.texts, context.bot_data
    words = context.command_text.split()
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
    await FLOW.offer(update, context, draft, preview)


async def _exists(data: BotData, event_id: str) -> bool:
    return await _event(data, event_id) is not None


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
        ids = await events.ids_by_start(session)
    return t("admin_events.unknown_event", id=event_id, ids=forms.codes(ids))


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
    line = rendering.event_line(Wording.curated(t), event, language=t.language)
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
            FLOW.handler(),
        ],
    )
