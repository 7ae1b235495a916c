"""The digests: what each is about, under a key that makes it once, and who it goes to.

A digest is created once, under a key naming what it is about, and its deliveries (one row per
chat) are written in the same transaction, before anything is sent. After a crash the pending
rows say exactly what was still to go; only sends in flight at that moment can go out twice.
Recipients are chosen by ``INSERT … SELECT`` inside SQLite, so the bot's memory does not grow
with the number of subscribers; each row records its chat's language and zone, and the digest's
words are written once for each such pair among its rows (storage/digest_texts.py). What chats were
told of an event, for the notices of its changes, is storage/notices.py; the deliveries as the
sends go, storage/ledger.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    and_,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bot_models import Chat, Delivery, Digest, Subscription
from storage.dialect import insert_new
from storage.models import Event


class Kind(StrEnum):
    """What a digest is; the value is what the ``digests.kind`` column holds."""

    REMINDER = "reminder"
    CHANGED = "changed"
    CANCELLED = "cancelled"
    # "On again": a cancelled event that is scheduled once more (a reverted cancellation).
    RESTORED = "restored"
    SUMMARY = "summary"
    BROADCAST = "broadcast"


class DigestStatus(StrEnum):
    """Where a digest stands, as the ``digests.status`` column holds it."""

    OPEN = "open"
    DONE = "done"
    SKIPPED = "skipped"
    # It went stale while it went out: what replaced it is in the ledger under other keys (see
    # bot/digest/planning.py, supersede).
    SUPERSEDED = "superseded"


class DeliveryStatus(StrEnum):
    """Where one delivery stands, as the ``deliveries.status`` column holds it."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    # Not made before its digest went stale; its replacement may go to the chat instead.
    SUPERSEDED = "superseded"


# By its old name, which handlers/broadcast.py and its tests import.
BROADCAST = Kind.BROADCAST
# Who a digest goes to: a query of chat ids, run inside SQLite by ``fill``.
Audience = Select[int]


def reminder_key(event_id: str, lead: str, starts_at: datetime) -> str:
    return f"{Kind.REMINDER}:{event_id}:{lead}:{starts_at.isoformat()}"


def changed_key(event: Event, earlier: int) -> str:
    """The notice of the event as it is now, after `earlier` notices of it: an event that comes
    back to a state it had before gets a notice again."""
    told = f"{event.place}|{event.ends_at.isoformat() if event.ends_at else ''}"
    digest = hashlib.sha256(told.encode()).hexdigest()[:12]
    return f"{Kind.CHANGED}:{event.id}:{event.starts_at.isoformat()}:{digest}:{earlier}"


def replacement_key(stale_id: str, event: Event) -> str:
    """The reminder that takes a stale one's place, telling of the event as it is now."""
    told = f"{event.place}|{event.ends_at.isoformat() if event.ends_at else ''}"
    return f"{stale_id}:now:{hashlib.sha256(told.encode()).hexdigest()[:12]}"


def fate_key(kind: Kind, event_id: str, earlier: int) -> str:
    """A "cancelled" or "on again" notice, after ``earlier`` of either: an event cancelled,
    restored and cancelled again is told each time. The first keeps its old key."""
    return f"{kind}:{event_id}" + (f":{earlier}" if earlier else "")


def summary_key(fire_time: datetime) -> str:
    return f"{Kind.SUMMARY}:{fire_time.isoformat()}"


def broadcast_key(token: str) -> str:
    """Named after the draft, so that confirming one draft twice finds the first broadcast."""
    return f"{Kind.BROADCAST}:{token}"


@dataclass(frozen=True)
class NewDigest:
    key: str
    kind: Kind
    due_at: datetime
    text: str
    event_id: str | None = None
    lead: str | None = None
    starts_at: datetime | None = None
    # What a reminder or notice tells of the event's place and end.
    place: str | None = None
    ends_at: datetime | None = None
    late: bool = False
    status: DigestStatus = DigestStatus.OPEN
    admin_id: int | None = None
    progress_chat_id: int | None = None
    progress_message_id: int | None = None


async def create(session: AsyncSession, *, digest: NewDigest, now: datetime) -> bool:
    """Add the digest unless its key is taken; True if this call added it."""
    statement = insert_new(session, Digest).values(
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
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a DML result has a rowcount


def subscribed(topic: ColumnElement[bool]) -> Select[int]:
    """Active chats whose active subscription wants this."""
    return (
        select(Subscription.chat_id)
        .join(Chat, Chat.id == Subscription.chat_id)
        .where(Chat.active.is_(true()), Subscription.active.is_(true()), topic)
    )


def reminder_audience(lead: str) -> Audience:
    """Active chats that want event reminders at this lead time (NULL lead_times: every one)."""
    listed = (literal(",") + Subscription.lead_times + literal(",")).contains(f",{lead},")
    return subscribed(Subscription.events.is_(true())).where(
        or_(Subscription.lead_times.is_(None), listed)
    )


def summary_audience() -> Audience:
    """Active chats that want the periodic summary."""
    return subscribed(Subscription.news.is_(true()))


def broadcast_audience() -> Audience:
    """Active chats that want anything from us: a chat that turned off both kinds hears nothing."""
    return subscribed(or_(Subscription.events.is_(true()), Subscription.news.is_(true())))


async def audience_size(session: AsyncSession, audience: Audience) -> int:
    """How many chats a digest for this audience would go to now."""
    return await session.scalar(select(func.count()).select_from(audience.subquery())) or 0


# A chat whose language is not known reads English.
_LANGUAGE = "en"
_COLUMNS = [
    "digest_id",
    "chat_id",
    "status",
    "attempts",
    "error",
    "updated_at",
    "language",
    "zone",
    "due_at",
]


@dataclass(frozen=True)
class Readers:
    """The chats of one zone, filled on their own: a reminder of an event known only to its
    day is due at 09:00 in each reader's zone. The bot's own zone's readers are every chat not
    filled before them: those with no zone of their own, and any whose zone it cannot read."""

    zone: str
    due_at: datetime
    # Why these chats are not sent it (their hour comes once the event has begun, or came
    # before it was scheduled): their rows are written skipped, for the ledger to show.
    skipped: str | None = None


async def fill(
    session: AsyncSession,
    *,
    digest_id: str,
    audience: Audience,
    channel_id: int | None,
    now: datetime,
    zone: str | None = None,
    readers: Readers | None = None,
) -> None:
    """Write a pending delivery for every chat of the audience, and the channel, in SQLite.

    Given the bot's ``zone``, each row records the language and zone its chat reads in
    (English, and that zone, for a chat with none of its own; the channel as its chat row has
    them, if it has one), whose words it is to get; without, it gets the digest's own text (a
    broadcast's). Given ``readers`` too, only the chats reading in their zone, due at their time.
    One statement for the audience and one for the channel, however many chats.
    """
    skipped = None if readers is None else readers.skipped
    status = DeliveryStatus.PENDING if skipped is None else DeliveryStatus.SKIPPED
    due = null() if readers is None else literal(readers.due_at, Delivery.due_at.type)

    def written(
        chat_id: SQLColumnExpression[int],
        language: SQLColumnExpression[str | None],
        own: SQLColumnExpression[str | None],
    ) -> Select[*tuple[Any, ...]]:
        """The row of each chat: its language and zone, if the digest has words for each."""
        rows: Select[*tuple[Any, ...]] = select(
            literal(digest_id),
            chat_id,
            literal(status),
            literal(0),
            literal(skipped, Delivery.error.type),
            literal(now, Delivery.updated_at.type),
        )
        if zone is None:
            return rows.add_columns(null(), null(), due)
        reading = func.coalesce(own, zone)
        shown = reading if readers is None else literal(readers.zone)
        rows = rows.add_columns(func.coalesce(language, _LANGUAGE), shown, due)
        if readers is not None and readers.zone != zone:
            rows = rows.where(reading == readers.zone)
        return rows

    chats = audience.subquery()
    rows = written(chats.c.chat_id, Chat.language, Chat.zone).select_from(chats)
    if zone is not None:
        rows = rows.join(Chat, Chat.id == chats.c.chat_id)
    await session.execute(insert_new(session, Delivery).from_select(_COLUMNS, rows))
    if channel_id is None:
        return

    def own(column: SQLColumnExpression[str | None]) -> SQLColumnExpression[str | None]:
        return select(column).where(Chat.id == channel_id).scalar_subquery()

    # A channel the bot has met and found gone (see deactivate) is left out; others are tried.
    gone = exists().where(Chat.id == channel_id, Chat.active.is_(false()))
    channel = written(literal(channel_id), own(Chat.language), own(Chat.zone)).where(~gone)
    await session.execute(insert_new(session, Delivery).from_select(_COLUMNS, channel))


async def refill(
    session: AsyncSession,
    *,
    digest_id: str,
    stale_id: str,
    lead: str,
    channel_id: int | None,
    now: datetime,
) -> None:
    """The deliveries of a reminder that takes a stale one's place: to the chats the stale one
    did not reach that still want reminders at this lead, and to the channel if it was not
    reached either, each as it was to get the stale one (its words' language and zone, and
    its due time)."""
    wanted = reminder_audience(lead).where(Subscription.chat_id == Delivery.chat_id).exists()
    gone = exists().where(Chat.id == Delivery.chat_id, Chat.active.is_(false()))
    channel = false() if channel_id is None else and_(Delivery.chat_id == channel_id, ~gone)
    rows = select(
        literal(digest_id),
        Delivery.chat_id,
        literal(DeliveryStatus.PENDING),
        literal(0),
        null(),
        literal(now, Delivery.updated_at.type),
        Delivery.language,
        Delivery.zone,
        Delivery.due_at,
    ).where(
        Delivery.digest_id == stale_id,
        Delivery.status == DeliveryStatus.SUPERSEDED,
        or_(wanted, channel),
    )
    await session.execute(insert_new(session, Delivery).from_select(_COLUMNS, rows))


async def reader_zones(session: AsyncSession, *, zone: str, channel_id: int | None) -> set[str]:
    """The zones that event subscribers read in, the channel's and the bot's own ``zone``
    (theirs, for a chat with none): one query."""
    reading = func.coalesce(Chat.zone, zone)
    theirs = (
        select(reading)
        .select_from(Subscription)
        .join(Chat, Chat.id == Subscription.chat_id)
        .where(
            Chat.active.is_(true()),
            Subscription.active.is_(true()),
            Subscription.events.is_(true()),
        )
    )
    if channel_id is None:
        found = await session.scalars(theirs.distinct())
    else:
        found = await session.scalars(union(theirs, select(reading).where(Chat.id == channel_id)))
    return {*found, zone}


async def reminder_keys(session: AsyncSession, *, event_ids: Collection[str]) -> set[str]:
    """The keys of the reminders already created for these events, for any start."""
    if not event_ids:
        return set()
    found = await session.scalars(
        select(Digest.id).where(Digest.kind == Kind.REMINDER, Digest.event_id.in_(event_ids))
    )
    return set(found)


async def last_summary_at(session: AsyncSession) -> datetime | None:
    """The fire time of the latest summary, sent or skipped: the next one reports from there."""
    return await session.scalar(select(func.max(Digest.due_at)).where(Digest.kind == Kind.SUMMARY))
