"""When an event is over, given that its source may name only its day or its month."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Event


def period_end(moment: datetime, *, precision: str, zone: str) -> datetime:
    """The first instant after the minute, day or month that starts at ``moment``."""
    local = moment.astimezone(ZoneInfo(zone))
    if precision == "minute":
        return moment + timedelta(minutes=1)
    if precision == "day":
        following = local.date() + timedelta(days=1)
    elif precision == "month":
        following = (local.date().replace(day=1) + timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"unknown precision {precision!r}")
    next_start = datetime(following.year, following.month, following.day, tzinfo=ZoneInfo(zone))
    return next_start.astimezone(moment.tzinfo)


def ends(event: Event) -> datetime:
    """When the event is over, as far as its source lets us say."""
    return period_end(event.ends_at or event.starts_at, precision=event.precision, zone=event.zone)


async def ids_by_start(session: AsyncSession) -> Sequence[str]:
    """Every event's id, cancelled ones included, soonest first."""
    return (await session.scalars(select(Event.id).order_by(Event.starts_at))).all()


async def find(session: AsyncSession, event_id: str) -> Event | None:
    """An event by id, a cancelled one too (the knowledge holds only scheduled ones)."""
    return await session.get(Event, event_id)


async def cancelled_ahead(session: AsyncSession, now: datetime) -> Sequence[Event]:
    """Cancelled events that would not be over yet, soonest first."""
    found = await session.scalars(
        select(Event).where(Event.status == "cancelled").order_by(Event.starts_at, Event.id)
    )
    return [event for event in found if ends(event) > now]
