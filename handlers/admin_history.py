"""/history and /revert: who changed an item, when, from what to what; and going back.

``/revert N`` puts an item back as it was before change N, whatever came after it, so any
earlier version can be had again; the preview shows every field that would change and names
the later changes it undoes too, and Confirm records one "revert" change. The change number
and the item's version the preview showed wait as its draft (bot/curation/drafts.py), and an
item changed since the preview is not reverted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import CommandHandler

from bot.context import App, Context
from bot.curation.admins import admin_named, admin_only
from bot.curation.content import ID_PATTERN
from bot.curation.drafts import Flow
from bot.curation.moments import written
from bot.knowledge import refresh
from bot.telegram.replies import reply
from bot.texts import Html, Texts, join, shorten
from storage import audit, curation
from storage.models import Base, Change

RECENT = 10
# A field's value in a history line is cut here: the whole text is one /facts away.
SHOWN_CHARACTERS = 80
# Bookkeeping that every first edit changes: noise in a history.
_UNSHOWN = frozenset({"origin", "id"})


@dataclass(frozen=True)
class Revert:
    """A revert as its preview showed it: the change, the item's version and latest change."""

    change_id: int
    version: int | None
    latest_id: int


class RevertFlow(Flow[Revert]):
    name = "revert"

    def confirm_label(self, t: Texts) -> str:
        return t("admin_history.button_revert")

    async def write(self, update: Update, context: Context, draft: Revert, token: str) -> Html:
        """Revert, unless the item changed since the preview."""
        t, data = context.texts, context.bot_data
        try:
            async with data.sessions.begin() as session:
                done = await curation.revert(
                    session,
                    draft.change_id,
                    seen_version=draft.version,
                    admin_id=context.user_id,
                    now=context.now,
                )
                done_id, kind, item_id = done.id, done.kind, done.item_id
        except curation.Conflict:
            return await _changed_meanwhile(t, context, draft)
        except curation.CurationError as error:
            return t("admin_history.revert_refused", reason=str(error))
        await refresh(data)
        return t(
            "admin_history.reverted",
            number=draft.change_id,
            change=done_id,
            kind=kind,
            item=item_id,
        )


FLOW = RevertFlow()


async def show_history(update: Update, context: Context) -> None:
    """An item's changes, latest first; with no id, the usage and the latest changes overall."""
    t = context.texts
    words = context.command_text.split()
    async with context.bot_data.sessions() as session:
        if not words:
            recent = await audit.recent_changes(session, limit=RECENT)
            lines = [_headline(t, context, change, with_item=True) for change in recent]
            listed = join(lines) if lines else t("admin_history.none_yet")
            await reply(update, t("admin_history.usage", recent=listed))
            return
        item_id = words[0]
        if not ID_PATTERN.fullmatch(item_id):
            await reply(update, t("admin_history.bad_id", given=item_id))
            return
        changes = await audit.item_changes(session, item_id)
        exists = [kind for kind in ("fact", "event") if await _exists(session, kind, item_id)]
    if changes:
        entries = [_entry(t, context, change) for change in changes]
        await reply(update, t("admin_history.item", item=item_id, changes=join(entries, "\n\n")))
    elif exists:
        await reply(update, t("admin_history.no_changes", item=item_id))
    else:
        await reply(update, t("admin_history.unknown", item=item_id))


async def preview_revert(update: Update, context: Context) -> None:
    """The item now → as it was before the change, with Confirm and Cancel."""
    t = context.texts
    words = context.command_text.split()
    if len(words) != 1 or not words[0].lstrip("#").isdecimal():
        await reply(update, t("admin_history.revert_usage"))
        return
    async with context.bot_data.sessions() as session:
        text, seen = await _preview(session, t, context, int(words[0].lstrip("#")))
    if seen is None:
        await reply(update, text)
        return
    await FLOW.offer(update, context, seen, text)


async def _preview(
    session: AsyncSession, t: Texts, context: Context, change_id: int
) -> tuple[Html, Revert | None]:
    """The preview of reverting a change, and what Confirm would revert: None when there is
    nothing to confirm (no such change, one that cannot be undone, nothing would change)."""
    change = await curation.change(session, change_id)
    if change is None:
        return t("admin_history.revert_no_change", number=change_id), None
    if change.kind not in curation.MODELS:
        return t("admin_history.revert_not_curated", number=change_id), None
    item = await curation.get(session, change.kind, change.item_id)
    try:
        values = curation.restoration(change, item, now=context.bot_data.clock.now())
    except curation.CurationError as error:
        return t("admin_history.revert_refused", reason=str(error)), None
    diffs = _changes_to(t, context, item, values)
    unchanged = t("admin_history.revert_same", kind=change.kind, number=change_id)
    parts = [
        t(
            "admin_history.revert_preview",
            number=change_id,
            action=change.action,
            kind=change.kind,
            item=change.item_id,
            restored=join(diffs) if diffs else unchanged,
        )
    ]
    if change.before is None:
        parts.append(t("admin_history.revert_hides", kind=change.kind))
    later = await audit.later_changes(session, change)
    if later:
        parts.append(_also_undone(t, context, later))
    if not diffs:
        return join(parts), None
    latest_id = later[0].id if later else change_id
    return join(parts), Revert(change_id, curation.version_of(item), latest_id)


def _changes_to(t: Texts, context: Context, item: Base, values: curation.Values) -> list[Html]:
    """Every field that differs between the item now and the item with these values."""
    now = curation.fields_of(curation.snapshot(item).to_json())
    then = curation.fields_of(curation.with_values(item, values).to_json())
    return _differences(t, context, now, then)


def _also_undone(t: Texts, context: Context, later: Sequence[Change]) -> Html:
    """The changes after the reverted one, which going back before it undoes too."""
    lines = [_headline(t, context, other, with_item=False) for other in later]
    return t("admin_history.revert_also", later=join(lines))


async def _changed_meanwhile(t: Texts, context: Context, seen: Revert) -> Html:
    """The changes made to the item after the preview: the admin looks again before undoing."""
    async with context.bot_data.sessions() as session:
        change = await curation.change(session, seen.change_id)
        assert change is not None  # a conflict is about a change that exists
        later = await audit.later_changes(session, change)
    lines = [
        _headline(t, context, other, with_item=False)
        for other in later
        if other.id > seen.latest_id
    ]
    return t(
        "admin_history.revert_conflict",
        number=change.id,
        kind=change.kind,
        item=change.item_id,
        since=join(lines) if lines else t("admin_history.changed_by_sync"),
    )


def _entry(t: Texts, context: Context, change: Change) -> Html:
    """A change's headline, then its fields before → after."""
    lines = [_headline(t, context, change, with_item=False)]
    if change.reverts is not None:
        lines.append(t("admin_history.reverts", number=change.reverts))
    if change.before is None:
        lines.append(t("admin_history.created"))
    else:
        before, after = curation.fields_of(change.before), curation.fields_of(change.after)
        lines += _differences(t, context, before, after)
    return join(lines)


def _headline(t: Texts, context: Context, change: Change, *, with_item: bool) -> Html:
    values = {
        "number": change.id,
        "action": change.action,
        "admin": admin_named(t, context.bot_data.admin_names, change.admin_id),
        "at": _when(context, change.at),
    }
    if with_item:
        return t("admin_history.headline_item", kind=change.kind, item=change.item_id, **values)
    return t("admin_history.headline", kind=change.kind, **values)


def _differences(
    t: Texts, context: Context, before: dict[str, Any], after: dict[str, Any]
) -> list[Html]:
    names = [name for name in {**before, **after} if name not in _UNSHOWN]
    return [
        t(
            "admin_history.field",
            name=name,
            before=_shown(context, before.get(name)),
            after=_shown(context, after.get(name)),
        )
        for name in names
        if before.get(name) != after.get(name)
    ]


def _shown(context: Context, value: object) -> str:
    if value is None:
        return "—"
    moment = _moment(value)
    if moment is not None:
        return _when(context, moment)
    text = " ".join(str(value).split())
    return shorten(text, SHOWN_CHARACTERS)


def _moment(value: object) -> datetime | None:
    """A time as history stores it (ISO 8601 with its offset), or None for anything else."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _when(context: Context, at: datetime) -> str:
    return written(at, precision="minute", zone=context.bot_data.settings.zone.key)


async def _exists(session: AsyncSession, kind: str, item_id: str) -> bool:
    try:
        await curation.get(session, kind, item_id)
    except curation.NotFound:
        return False
    return True


def register(app: App) -> None:
    admin_only(
        app,
        [
            CommandHandler("history", show_history),
            CommandHandler("revert", preview_revert),
            FLOW.handler(),
        ],
    )
