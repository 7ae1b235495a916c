"""Admin changes to curated items: each one checked against what the admin saw, and recorded.

Every change writes the item and a ``Change`` row (who, when, the item before and after as
JSON) in the caller's transaction, so an item never changes without its history, nor the
history without the item. An edit names the version of the item the admin was shown; if the
item has moved on since (another admin, a content sync), the edit is refused with ``Conflict``
rather than silently overwriting. An item an admin has touched gets origin "admin", and
``coopbot content sync`` leaves it alone from then on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, TypeDecorator, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from storage.events import period_end
from storage.models import (
    Action,
    Base,
    Change,
    Event,
    Fact,
    ItemKind,
    Source,
    new_row_times,
    reschedule,
)

# What admins curate, by the name commands and history use.
MODELS: Mapping[str, type[Base]] = {
    ItemKind.FACT: Fact,
    ItemKind.EVENT: Event,
    ItemKind.SOURCE: Source,
}
# Bookkeeping columns: not part of what an item says, so neither shown in history nor reverted.
_BOOKKEEPING = frozenset({"created_at", "updated_at", "version", "scheduled_since"})

# The names handlers/admin_events.py (ADD, EDIT, CANCEL) and admin_facts.py (DELETE, RESTORE)
# use; being rewritten in issue 13, they will name the Action members, and then these go.
ADD, EDIT, CANCEL = Action.ADD, Action.EDIT, Action.CANCEL
DELETE, RESTORE = Action.DELETE, Action.RESTORE

Values = Mapping[str, Any]


class CurationError(Exception):
    """A change that cannot be made; the message says why, for the admin to read."""


class NotFound(CurationError):
    def __init__(self, kind: str, item_id: str) -> None:
        super().__init__(f"there is no {kind} {item_id!r}")
        self.kind, self.item_id = kind, item_id


class Duplicate(CurationError):
    def __init__(self, kind: str, item_id: str) -> None:
        super().__init__(f"a {kind} {item_id!r} already exists")
        self.kind, self.item_id = kind, item_id


@dataclass(frozen=True)
class Stamp:
    """Which change, by whom, when: what outlives the transaction it was read in."""

    change_id: int
    admin_id: int
    at: datetime


class Conflict(CurationError):
    """The item changed after the admin was shown it; `latest` says by whom, if an admin did."""

    def __init__(self, kind: str, item_id: str, latest: Change | None) -> None:
        super().__init__(f"the {kind} {item_id!r} was changed by someone else meanwhile")
        self.kind, self.item_id = kind, item_id
        self.latest = None if latest is None else Stamp(latest.id, latest.admin_id, latest.at)


@dataclass(frozen=True)
class Snapshot:
    """An item's own fields, as stored in history."""

    fields: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(self.fields, ensure_ascii=False, sort_keys=True, default=_json_value)


def snapshot(item: Base) -> Snapshot:
    names = [c.key for c in item.__mapper__.column_attrs if c.key not in _BOOKKEEPING]
    return Snapshot({name: getattr(item, name) for name in names})


def fields_of(change_json: str | None) -> dict[str, Any]:
    """A history snapshot back as plain values (times stay ISO strings)."""
    return {} if change_json is None else dict(json.loads(change_json))


async def get(session: AsyncSession, kind: str, item_id: str) -> Any:
    """The item, deleted or cancelled ones included; NotFound if there is none."""
    item = await session.get(MODELS[kind], item_id)
    if item is None:
        raise NotFound(kind, item_id)
    return item


async def add(
    session: AsyncSession, kind: str, values: Values, *, admin_id: int, now: datetime
) -> Change:
    """Create an item from checked values; Duplicate if the id is taken."""
    model = MODELS[kind]
    if await session.get(model, values["id"]) is not None:
        raise Duplicate(kind, values["id"])
    position = getattr(model, "position", None)
    if position is not None and "position" not in values:
        # After every item there is, so that it comes last in its list.
        last = await session.scalar(select(func.max(position)))
        values = {**values, "position": (last or 0) + 1}
    item = model(**values, origin="admin", **new_row_times(model, now))
    session.add(item)
    await session.flush()
    return await _record(session, kind, item, Action.ADD, None, admin_id=admin_id, now=now)


async def edit(
    session: AsyncSession,
    kind: str,
    item_id: str,
    values: Values,
    *,
    seen_version: int | None,
    admin_id: int,
    now: datetime,
    # An Action; typed str, as a handler's draft keeps the one it will do.
    action: str = Action.EDIT,
) -> Change:
    """Change some fields of an item the admin saw at `seen_version`; Conflict if it moved on.

    `seen_version` is None only for items without a version (sources).
    """
    item = await get(session, kind, item_id)
    if seen_version is not None and item.version != seen_version:
        raise Conflict(kind, item_id, await latest_change(session, kind, item_id))
    return await _write(session, kind, item, values, action, admin_id=admin_id, now=now)


async def history(
    session: AsyncSession, kind: str, item_id: str, *, limit: int = 20
) -> Sequence[Change]:
    """An item's changes, latest first."""
    found = await session.scalars(
        select(Change)
        .where(Change.kind == kind, Change.item_id == item_id)
        .order_by(Change.id.desc())
        .limit(limit)
    )
    return found.all()


async def latest_change(session: AsyncSession, kind: str, item_id: str) -> Change | None:
    found = await history(session, kind, item_id, limit=1)
    return found[0] if found else None


async def change(session: AsyncSession, change_id: int) -> Change | None:
    """The change with this number; None for any number SQLite's integers cannot hold."""
    if not 0 < change_id < 2**63:
        return None
    return await session.get(Change, change_id)


async def revert(
    session: AsyncSession,
    change_id: int,
    *,
    seen_version: int | None,
    admin_id: int,
    now: datetime,
) -> Change:
    """Put an item back as it was before one change, whatever came after; a change itself.

    It is an edit to the values ``restoration`` gives, checked against the version the admin's
    preview showed like any other edit, so an event is rescheduled as an edit would be.
    """
    undone = await change(session, change_id)
    if undone is None:
        raise CurationError(f"there is no change #{change_id}")
    if undone.kind not in MODELS:
        raise CurationError(f"change #{change_id} is to a {undone.kind}, which is not curated")
    item = await get(session, undone.kind, undone.item_id)
    values = restoration(undone, item, now=now)
    done = await edit(
        session,
        undone.kind,
        undone.item_id,
        values,
        seen_version=seen_version,
        admin_id=admin_id,
        now=now,
        action=Action.REVERT,
    )
    done.reverts = undone.id
    return done


def restoration(undone: Change, item: Base, *, now: datetime) -> dict[str, Any]:
    """The values that put the item back as it was before a change: its ``before`` snapshot.

    Undoing an addition hides the item (a fact is deleted, an event cancelled) rather than
    erasing it, so that its history stays and the undoing can itself be undone; an item
    already hidden stays as it is.
    """
    if undone.before is None:
        return _hidden(undone.kind, item, now)
    values = _restored(type(item), fields_of(undone.before))
    if isinstance(item, Event):
        _refuse_past_start(item, values, now=now)
    return values


def _refuse_past_start(event: Event, values: Mapping[str, Any], *, now: datetime) -> None:
    """A scheduled event is not moved back to a start that is over, as /editevent would not."""
    starts_at = values.get("starts_at", event.starts_at)
    if starts_at == event.starts_at or values.get("status", event.status) != "scheduled":
        return
    precision = values.get("precision", event.precision)
    zone = values.get("zone", event.zone)
    if period_end(starts_at, precision=precision, zone=zone) <= now:
        shown = starts_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
        raise CurationError(
            f"that version of {event.id} starts at {shown} {zone}, which is over; give it a "
            f"coming start with /editevent {event.id} start = …"
        )


def version_of(item: Base) -> int | None:
    """The version an edit names (None for sources, which have none)."""
    version: int | None = getattr(item, "version", None)
    return version


def with_values(item: Base, values: Values) -> Snapshot:
    """The item as it would be with these values: what a preview compares it with."""
    return Snapshot({**snapshot(item).fields, **values})


async def _write(
    session: AsyncSession,
    kind: str,
    item: Any,
    values: Values,
    action: str,
    *,
    admin_id: int,
    now: datetime,
) -> Change:
    """Set the values on the item, mark it an admin's, and record the change."""
    before, item_id = snapshot(item), item.id
    if isinstance(item, Event):
        reschedule(item, values, now=now)
    for name, value in values.items():
        setattr(item, name, value)
    item.origin = "admin"
    if hasattr(item, "updated_at"):
        item.updated_at = now
    # The flush runs SQLAlchemy's own version check (UPDATE ... WHERE version = ?), which
    # catches an edit committed between our read and this write: who made it is not known.
    try:
        await session.flush()
    except StaleDataError:
        raise Conflict(kind, item_id, None) from None
    return await _record(session, kind, item, action, before, admin_id=admin_id, now=now)


async def _record(
    session: AsyncSession,
    kind: str,
    item: Base,
    action: str,
    before: Snapshot | None,
    *,
    admin_id: int,
    now: datetime,
) -> Change:
    done = Change(
        at=now,
        admin_id=admin_id,
        kind=kind,
        item_id=getattr(item, "id"),  # noqa: B009  # every curated model has an id
        action=action,
        before=None if before is None else before.to_json(),
        after=snapshot(item).to_json(),
    )
    session.add(done)
    await session.flush()
    return done


def _hidden(kind: str, item: Base, now: datetime) -> dict[str, Any]:
    if isinstance(item, Event):
        return {"status": "cancelled"}
    if isinstance(item, Fact):
        return {"deleted_at": item.deleted_at or now}
    raise CurationError(
        f"an added {type(item).__name__.lower()} cannot be undone; edit it instead"
    )


def _restored(model: type[Base], fields: Mapping[str, Any]) -> dict[str, Any]:
    """A snapshot's values typed as the model's columns want them."""
    columns = {c.key: c.columns[0] for c in model.__mapper__.column_attrs}
    restored: dict[str, Any] = {}
    for name, value in fields.items():
        column = columns.get(name)
        if column is None or name in _BOOKKEEPING or name == "id":
            continue
        restored[name] = _typed(column.type, value)
    return restored


def _typed(column_type: Any, value: Any) -> Any:
    if value is None or not isinstance(value, str):
        return value
    python_type = _python_type(column_type)
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is date:
        return date.fromisoformat(value)
    return value


def _python_type(column_type: Any) -> type | None:
    if isinstance(column_type, TypeDecorator) and isinstance(column_type.impl, DateTime):
        return datetime
    try:
        result: type = column_type.python_type
    except NotImplementedError:
        return None
    return result


def _json_value(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not stored in history")


async def ids(session: AsyncSession, kind: str) -> set[str]:
    """Every id of a kind in use, deleted items' included: an id is never given twice."""
    (key,) = MODELS[kind].__mapper__.primary_key
    return set((await session.scalars(select(key))).all())
