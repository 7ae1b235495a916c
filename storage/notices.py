"""What chats were told of each event, so that a change or a cancellation reaches them.

A reminder or notice records the start, place and end it told of. These queries find the chats
told otherwise than an event now is, the events that need a notice, and how many notices an
event has had (a notice's key counts them). They are the audience and the work of the notices
that bot/digest/planning.py plans; the digests themselves are storage/digests.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    SQLColumnExpression,
    and_,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.bot_models import Delivery, Digest, Subscription
from storage.digests import Audience, DeliveryStatus, DigestStatus, Kind, subscribed
from storage.models import Event


async def notices_of(session: AsyncSession, event_id: str) -> int:
    """How many "changed" notices the event has had."""
    found = select(func.count()).where(Digest.kind == Kind.CHANGED, Digest.event_id == event_id)
    return await session.scalar(found) or 0


async def fates_of(session: AsyncSession, event_id: str) -> int:
    """How many "cancelled" and "on again" notices the event has had."""
    found = select(func.count()).where(
        Digest.kind.in_((Kind.CANCELLED, Kind.RESTORED)), Digest.event_id == event_id
    )
    return await session.scalar(found) or 0


def _latest_fate(event_id: SQLColumnExpression[str]) -> ScalarSelect[str]:
    """The kind of the event's latest "cancelled" or "on again" notice (NULL if none)."""
    fate = aliased(Digest, name="fate")
    return (
        select(fate.kind)
        .where(fate.event_id == event_id, fate.kind.in_((Kind.CANCELLED, Kind.RESTORED)))
        .order_by(fate.written.desc())
        .limit(1)
        .scalar_subquery()
    )


def told_cancelled(event_id: str) -> Audience:
    """Active chats subscribed to events that were told the event is cancelled."""
    told = (
        select(Delivery.chat_id)
        .join(Digest, Digest.id == Delivery.digest_id)
        .where(
            Digest.event_id == event_id,
            Digest.kind == Kind.CANCELLED,
            Delivery.status == DeliveryStatus.SENT,
        )
    )
    return subscribed(Subscription.events.is_(true())).where(Subscription.chat_id.in_(told))


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
            Digest.kind.in_((Kind.REMINDER, Kind.CHANGED)),
            Delivery.status == DeliveryStatus.SENT,
        )
    )
    if unless_told is not None:
        earlier = earlier.where(told_otherwise(unless_told))
    return earlier


def notice_audience(event_id: str, *, unless_told: Event | None = None) -> Audience:
    """Active chats still subscribed to events that had heard of the event from us before."""
    return subscribed(Subscription.events.is_(true())).where(
        Subscription.chat_id.in_(reminded(event_id, unless_told=unless_told))
    )


async def changed_events(session: AsyncSession, *, now: datetime) -> Sequence[Event]:
    """Scheduled events still ahead that some chat was told of with another start, place or
    end, and that have no notice for how they are now."""
    told_elsewhere = reminded(Event.id, unless_told=Event).exists()
    # The latest reminder or notice made for the event (in the order they were written: a
    # notice and the reminders of one tick share their created_at) already tells of the event
    # as it is now.
    recent = aliased(Digest, name="recent")
    latest = (
        select(recent.id)
        .where(
            recent.event_id == Event.id,
            recent.kind.in_((Kind.REMINDER, Kind.CHANGED)),
            recent.status != DigestStatus.SKIPPED,
        )
        .order_by(recent.written.desc())
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
    sent = select(Delivery.digest_id).where(Delivery.status == DeliveryStatus.SENT)
    row = (
        await session.execute(
            select(Digest.starts_at, Digest.place, Digest.ends_at)
            .where(
                Digest.event_id == event.id,
                Digest.kind.in_((Kind.REMINDER, Kind.CHANGED)),
                Digest.starts_at.is_not(None),
                Digest.id.in_(sent),
            )
            .order_by(Digest.written.desc())  # written last
            .limit(1)
        )
    ).first()
    return None if row is None else Told(row.starts_at, row.place, row.ends_at)


async def cancelled_events(session: AsyncSession) -> Sequence[Event]:
    """Cancelled events that some chat was reminded of and has not been told about."""
    was_reminded = reminded(Event.id).exists()
    # Not told yet, or told it was on again since.
    told = func.coalesce(_latest_fate(Event.id), Kind.RESTORED) == Kind.CANCELLED
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
            _latest_fate(Event.id) == Kind.CANCELLED,
        )
        .order_by(Event.starts_at, Event.id)
    )
    return found.all()
