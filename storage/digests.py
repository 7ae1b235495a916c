"""The digest ledger: what is to be sent, to which chats, and how each send went.

A digest is created once, under a key naming what it is about, and its deliveries (one row per
chat) are written in the same transaction, before anything is sent. After a crash the pending
rows say exactly what was still to go; only sends in flight at that moment can go out twice.
Recipients are chosen by ``INSERT … SELECT`` inside SQLite and read back a batch at a time, so
the bot's memory does not grow with the number of subscribers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    SQLColumnExpression,
    and_,
    bindparam,
    case,
    exists,
    false,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Chat, Delivery, Digest, Event, Subscription

REMINDER, CHANGED, CANCELLED, SUMMARY = "reminder", "changed", "cancelled", "summary"
# "On again": a cancelled event that is scheduled once more (a reverted cancellation).
RESTORED = "restored"
BROADCAST = "broadcast"
# Digest statuses.
OPEN, DONE, SKIPPED = "open", "done", "skipped"
# Delivery statuses (and SKIPPED).
PENDING, SENT, FAILED = "pending", "sent", "failed"
# A digest that went stale while it went out, and its deliveries that had not gone: what
# replaced it is in the ledger under other keys (see bot/digest/planning.py, supersede).
SUPERSEDED = "superseded"
BATCH = 500
# Who a digest goes to: a query of chat ids, run inside SQLite by ``fill``.
Audience = Select[int]
# Notices come before the reminders planned in the same tick: "moved", then "see you there".
_KIND_ORDER = {CANCELLED: 0, RESTORED: 0, CHANGED: 1, REMINDER: 2, SUMMARY: 3}


def reminder_key(event_id: str, lead: str, starts_at: datetime) -> str:
    return f"{REMINDER}:{event_id}:{lead}:{starts_at.isoformat()}"


def changed_key(event: Event, earlier: int) -> str:
    """The notice of the event as it is now, after `earlier` notices of it: an event that comes
    back to a state it had before gets a notice again."""
    told = f"{event.place}|{event.ends_at.isoformat() if event.ends_at else ''}"
    digest = hashlib.sha256(told.encode()).hexdigest()[:12]
    return f"{CHANGED}:{event.id}:{event.starts_at.isoformat()}:{digest}:{earlier}"


async def notices_of(session: AsyncSession, event_id: str) -> int:
    """How many "changed" notices the event has had."""
    found = select(func.count()).where(Digest.kind == CHANGED, Digest.event_id == event_id)
    return await session.scalar(found) or 0


def replacement_key(stale_id: str, event: Event) -> str:
    """The reminder that takes a stale one's place, telling of the event as it is now."""
    told = f"{event.place}|{event.ends_at.isoformat() if event.ends_at else ''}"
    return f"{stale_id}:now:{hashlib.sha256(told.encode()).hexdigest()[:12]}"


def fate_key(kind: str, event_id: str, earlier: int) -> str:
    """A "cancelled" or "on again" notice, after ``earlier`` of either: an event cancelled,
    restored and cancelled again is told each time. The first keeps its old key."""
    return f"{kind}:{event_id}" + (f":{earlier}" if earlier else "")


async def fates_of(session: AsyncSession, event_id: str) -> int:
    """How many "cancelled" and "on again" notices the event has had."""
    found = select(func.count()).where(
        Digest.kind.in_((CANCELLED, RESTORED)), Digest.event_id == event_id
    )
    return await session.scalar(found) or 0


def _latest_fate(event_id: SQLColumnExpression[str]) -> ScalarSelect[str]:
    """The kind of the event's latest "cancelled" or "on again" notice (NULL if none)."""
    fate = aliased(Digest, name="fate")
    return (
        select(fate.kind)
        .where(fate.event_id == event_id, fate.kind.in_((CANCELLED, RESTORED)))
        .order_by(literal_column("fate.rowid").desc())
        .limit(1)
        .scalar_subquery()
    )


def told_cancelled(event_id: str) -> Audience:
    """Active chats subscribed to events that were told the event is cancelled."""
    told = (
        select(Delivery.chat_id)
        .join(Digest, Digest.id == Delivery.digest_id)
        .where(Digest.event_id == event_id, Digest.kind == CANCELLED, Delivery.status == SENT)
    )
    return _subscribed(Subscription.events.is_(true())).where(Subscription.chat_id.in_(told))


def summary_key(fire_time: datetime) -> str:
    return f"{SUMMARY}:{fire_time.isoformat()}"


def broadcast_key(token: str) -> str:
    """Named after the draft, so that confirming one draft twice finds the first broadcast."""
    return f"{BROADCAST}:{token}"


@dataclass(frozen=True)
class NewDigest:
    key: str
    kind: str
    due_at: datetime
    text: str
    event_id: str | None = None
    lead: str | None = None
    starts_at: datetime | None = None
    # What a reminder or notice tells of the event's place and end.
    place: str | None = None
    ends_at: datetime | None = None
    late: bool = False
    status: str = OPEN
    admin_id: int | None = None
    progress_chat_id: int | None = None
    progress_message_id: int | None = None


@dataclass(frozen=True)
class Pending:
    """A delivery still to make, and how often it has been tried."""

    chat_id: int
    attempts: int


@dataclass(frozen=True)
class Mark:
    """The outcome of one send: a delivery status, and the error if there was one."""

    chat_id: int
    status: str
    error: str | None = None


async def create(session: AsyncSession, *, digest: NewDigest, now: datetime) -> bool:
    """Add the digest unless its key is taken; True if this call added it."""
    statement = (
        insert(Digest)
        .prefix_with("OR IGNORE")
        .values(
            id=digest.key,
            kind=digest.kind,
            event_id=digest.event_id,
            lead=digest.lead,
            starts_at=digest.starts_at,
            place=digest.place,
            ends_at=digest.ends_at,
            due_at=digest.due_at,
            created_at=now,
            late=digest.late,
            status=digest.status,
            text=digest.text,
            admin_id=digest.admin_id,
            progress_chat_id=digest.progress_chat_id,
            progress_message_id=digest.progress_message_id,
        )
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a DML result has a rowcount


def _subscribed(topic: ColumnElement[bool]) -> Select[int]:
    return (
        select(Subscription.chat_id)
        .join(Chat, Chat.id == Subscription.chat_id)
        .where(Chat.active.is_(true()), Subscription.active.is_(true()), topic)
    )


def reminder_audience(lead: str) -> Audience:
    """Active chats that want event reminders at this lead time (NULL lead_times: every one)."""
    listed = func.instr(literal(",") + Subscription.lead_times + literal(","), f",{lead},")
    return _subscribed(Subscription.events.is_(true())).where(
        or_(Subscription.lead_times.is_(None), listed > 0)
    )


def summary_audience() -> Audience:
    """Active chats that want the periodic summary."""
    return _subscribed(Subscription.news.is_(true()))


def broadcast_audience() -> Audience:
    """Active chats that want anything from us: a chat that turned off both kinds hears nothing."""
    return _subscribed(or_(Subscription.events.is_(true()), Subscription.news.is_(true())))


def not_reached(digest_id: str, lead: str) -> Audience:
    """Chats a superseded reminder did not reach that still want reminders at this lead."""
    superseded = select(Delivery.chat_id).where(
        Delivery.digest_id == digest_id, Delivery.status == SUPERSEDED
    )
    return reminder_audience(lead).where(Subscription.chat_id.in_(superseded))


async def audience_size(session: AsyncSession, audience: Audience) -> int:
    """How many chats a digest for this audience would go to now."""
    return await session.scalar(select(func.count()).select_from(audience.subquery())) or 0


def told_otherwise(event: type[Event] | Event) -> ColumnElement[bool]:
    """A digest told of another start, place or end than the event has now.

    A digest from before its place was recorded (NULL) counts only by its start.
    """
    other_details = and_(
        Digest.place.is_not(None),
        or_(Digest.place != event.place, Digest.ends_at.is_distinct_from(event.ends_at)),
    )
    return or_(Digest.starts_at != event.starts_at, other_details)


def reminded(
    event_id: str | SQLColumnExpression[str], *, unless_told: Event | type[Event] | None = None
) -> Select[int]:
    """Chats that received a reminder or notice for the event; with `unless_told`, only those
    told of it otherwise than it now is. Given ``Event.id`` and ``Event``, it correlates with a
    query over events."""
    earlier = (
        select(Delivery.chat_id)
        .join(Digest, Digest.id == Delivery.digest_id)
        .where(
            Digest.event_id == event_id,
            Digest.kind.in_((REMINDER, CHANGED)),
            Delivery.status == SENT,
        )
    )
    if unless_told is not None:
        earlier = earlier.where(told_otherwise(unless_told))
    return earlier


def notice_audience(event_id: str, *, unless_told: Event | None = None) -> Audience:
    """Active chats still subscribed to events that had heard of the event from us before."""
    return _subscribed(Subscription.events.is_(true())).where(
        Subscription.chat_id.in_(reminded(event_id, unless_told=unless_told))
    )


async def fill(
    session: AsyncSession,
    *,
    digest_id: str,
    audience: Audience,
    channel_id: int | None,
    now: datetime,
) -> None:
    """Write a pending delivery for every chat of the audience, and the channel, in SQLite."""
    chats = audience.subquery()
    rows = select(
        literal(digest_id),
        chats.c.chat_id,
        literal(PENDING),
        literal(0),
        null(),
        literal(now, Delivery.updated_at.type),
    )
    columns = ["digest_id", "chat_id", "status", "attempts", "error", "updated_at"]
    await session.execute(insert(Delivery).prefix_with("OR IGNORE").from_select(columns, rows))
    if channel_id is None:
        return
    # A channel the bot has met and found gone (see deactivate) is left out; others are tried.
    gone = exists().where(Chat.id == channel_id, Chat.active.is_(false()))
    channel = select(
        literal(digest_id),
        literal(channel_id),
        literal(PENDING),
        literal(0),
        null(),
        literal(now, Delivery.updated_at.type),
    ).where(~gone)
    await session.execute(insert(Delivery).prefix_with("OR IGNORE").from_select(columns, channel))


async def reminder_keys(session: AsyncSession, *, event_ids: Collection[str]) -> set[str]:
    """The keys of the reminders already created for these events, for any start."""
    if not event_ids:
        return set()
    found = await session.scalars(
        select(Digest.id).where(Digest.kind == REMINDER, Digest.event_id.in_(event_ids))
    )
    return set(found)


async def changed_events(session: AsyncSession, *, now: datetime) -> Sequence[Event]:
    """Scheduled events still ahead that some chat was told of with another start, place or
    end, and that have no notice for how they are now."""
    told_elsewhere = reminded(Event.id, unless_told=Event).exists()
    # The latest reminder or notice made for the event (by SQLite's rowid, the order they were
    # written in: a notice and the reminders of one tick share their created_at) already tells
    # of the event as it is now.
    recent = aliased(Digest, name="recent")
    latest = (
        select(recent.id)
        .where(
            recent.event_id == Event.id,
            recent.kind.in_((REMINDER, CHANGED)),
            recent.status != SKIPPED,
        )
        .order_by(literal_column("recent.rowid").desc())
        .limit(1)
        .scalar_subquery()
    )
    told = select(Digest.id).where(Digest.id == latest, ~told_otherwise(Event)).exists()
    found = await session.scalars(
        select(Event)
        .where(Event.status == "scheduled", Event.starts_at > now, told_elsewhere, ~told)
        .order_by(Event.starts_at, Event.id)
    )
    return found.all()


@dataclass(frozen=True)
class Told:
    """An event as a reminder or notice gave it; ``place`` is None when not recorded."""

    starts_at: datetime
    place: str | None
    ends_at: datetime | None


async def last_told(session: AsyncSession, event: Event) -> Told | None:
    """The event as the last reminder or notice sent about it gave it, if any was sent."""
    sent = select(Delivery.digest_id).where(Delivery.status == SENT)
    row = (
        await session.execute(
            select(Digest.starts_at, Digest.place, Digest.ends_at)
            .where(
                Digest.event_id == event.id,
                Digest.kind.in_((REMINDER, CHANGED)),
                Digest.starts_at.is_not(None),
                Digest.id.in_(sent),
            )
            .order_by(literal_column("digests.rowid").desc())  # written last
            .limit(1)
        )
    ).first()
    return None if row is None else Told(row.starts_at, row.place, row.ends_at)


async def cancelled_events(session: AsyncSession) -> Sequence[Event]:
    """Cancelled events that some chat was reminded of and has not been told about."""
    was_reminded = reminded(Event.id).exists()
    # Not told yet, or told it was on again since.
    told = func.coalesce(_latest_fate(Event.id), RESTORED) == CANCELLED
    found = await session.scalars(
        select(Event)
        .where(Event.status == "cancelled", was_reminded, ~told)
        .order_by(Event.starts_at, Event.id)
    )
    return found.all()


async def restored_events(session: AsyncSession, *, now: datetime) -> Sequence[Event]:
    """Scheduled events still ahead whose latest notice said they were cancelled."""
    found = await session.scalars(
        select(Event)
        .where(
            Event.status == "scheduled",
            Event.starts_at > now,
            _latest_fate(Event.id) == CANCELLED,
        )
        .order_by(Event.starts_at, Event.id)
    )
    return found.all()


async def last_summary_at(session: AsyncSession) -> datetime | None:
    """The fire time of the latest summary, sent or skipped: the next one reports from there."""
    return await session.scalar(select(func.max(Digest.due_at)).where(Digest.kind == SUMMARY))


async def open_digests(session: AsyncSession) -> Sequence[Digest]:
    """Digests with deliveries to make, in the order they should reach a chat."""
    order = case(_KIND_ORDER, value=Digest.kind, else_=len(_KIND_ORDER))
    found = await session.scalars(
        select(Digest)
        .where(Digest.status == OPEN)
        .order_by(Digest.created_at, order, Digest.due_at, Digest.id)
    )
    return found.all()


@dataclass(frozen=True)
class Counts:
    """Where a digest's deliveries stand; "blocked" counts chats found gone and deactivated."""

    sent: int = 0
    failed: int = 0
    blocked: int = 0
    remaining: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.failed + self.blocked + self.remaining


async def counts(session: AsyncSession, *, digest_id: str) -> Counts:
    """The digest's deliveries by outcome, counted in SQLite."""
    gone = exists().where(Chat.id == Delivery.chat_id, Chat.active.is_(false()))
    outcome = case(
        (Delivery.status == SENT, "sent"),
        (Delivery.status == PENDING, "remaining"),
        (gone, "blocked"),
        else_="failed",
    )
    # A migrated group's duplicate row: its delivery lives on under the new id.
    duplicate = and_(
        Delivery.status == SKIPPED, func.coalesce(Delivery.error, "").startswith("migrated to ")
    )
    rows = await session.execute(
        select(outcome, func.count())
        .where(Delivery.digest_id == digest_id, ~duplicate)
        .group_by(outcome)
    )
    return Counts(**{str(name): int(number) for name, number in rows})


async def pending(
    session: AsyncSession, *, digest_id: str, after: int | None = None, limit: int = BATCH
) -> Sequence[Pending]:
    """The next pending deliveries of a digest by chat id, after ``after``: keyset pages."""
    query = select(Delivery.chat_id, Delivery.attempts).where(
        Delivery.digest_id == digest_id, Delivery.status == PENDING
    )
    if after is not None:
        query = query.where(Delivery.chat_id > after)
    rows = await session.execute(query.order_by(Delivery.chat_id).limit(limit))
    return [Pending(chat_id, attempts) for chat_id, attempts in rows]


# Built once: a fan-out marks its sends many times a second (bench/README.md: what it cost).
_MARK = (
    update(Delivery)
    .where(Delivery.digest_id == bindparam("digest"), Delivery.chat_id == bindparam("chat"))
    .values(
        status=bindparam("new_status"),
        error=bindparam("new_error"),
        attempts=Delivery.attempts + 1,
        updated_at=bindparam("now", type_=Delivery.updated_at.type),
    )
)


async def mark(
    session: AsyncSession, *, digest_id: str, marks: Sequence[Mark], now: datetime
) -> None:
    """Record how each send went; each counts as an attempt."""
    if not marks:
        return
    rows = [
        {
            "digest": digest_id,
            "chat": m.chat_id,
            "new_status": m.status,
            "new_error": m.error,
            "now": now,
        }
        for m in marks
    ]
    # On the connection: one UPDATE run for many rows, not the ORM's bulk update by key.
    connection = await session.connection()
    await connection.execute(_MARK, rows)


async def skip_pending(
    session: AsyncSession, *, digest_id: str, reason: str, now: datetime
) -> None:
    """Give up the digest's remaining deliveries, e.g. for an event that has moved or begun."""
    await session.execute(
        update(Delivery)
        .where(Delivery.digest_id == digest_id, Delivery.status == PENDING)
        .values(status=SKIPPED, error=reason, updated_at=now)
    )


async def supersede(session: AsyncSession, *, digest_id: str, now: datetime) -> None:
    """The digest went stale mid-way: the deliveries not made are superseded, and so is it."""
    await session.execute(
        update(Delivery)
        .where(Delivery.digest_id == digest_id, Delivery.status == PENDING)
        .values(status=SUPERSEDED, updated_at=now)
    )
    await session.execute(update(Digest).where(Digest.id == digest_id).values(status=SUPERSEDED))


async def finish(session: AsyncSession, *, digest_id: str) -> bool:
    """Mark the digest done if it has no pending deliveries left; True if it is done now."""
    left = (
        select(Delivery.chat_id)
        .where(Delivery.digest_id == digest_id, Delivery.status == PENDING)
        .exists()
    )
    result = await session.execute(
        update(Digest)
        .where(Digest.id == digest_id, Digest.status == OPEN, ~left)
        .values(status=DONE)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a DML result has a rowcount


async def delivery_status(session: AsyncSession, *, digest_id: str, chat_id: int) -> str | None:
    """Where one delivery stands, or None if the chat has no row for the digest."""
    return await session.scalar(
        select(Delivery.status).where(Delivery.digest_id == digest_id, Delivery.chat_id == chat_id)
    )
