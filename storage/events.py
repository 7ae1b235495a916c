"""Queries over events, which are known to minute, day or month precision."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Event

PRECISIONS = ("minute", "day", "month")


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


async def _scheduled(session: AsyncSession) -> Sequence[Event]:
    query = select(Event).where(Event.status == "scheduled").order_by(Event.starts_at, Event.id)
    return (await session.scalars(query)).all()


async def upcoming(session: AsyncSession, *, now: datetime) -> Sequence[Event]:
    """Events not yet over (including those under way), soonest first."""
    # A month-precision event can still be running up to a month (plus a multi-day span) after
    # its start, so the SQL bound is loose and the exact cut is made in Python.
    query = (
        select(Event)
        .where(Event.status == "scheduled")
        .where(func.coalesce(Event.ends_at, Event.starts_at) >= now - timedelta(days=32))
        .order_by(Event.starts_at, Event.id)
    )
    return [event for event in (await session.scalars(query)).all() if ends(event) > now]


async def past(session: AsyncSession, *, now: datetime) -> Sequence[Event]:
    """Events that are over, latest first."""
    events = [event for event in await _scheduled(session) if ends(event) <= now]
    return events[::-1]


async def latest_past(session: AsyncSession, *, now: datetime) -> Event | None:
    events = await past(session, now=now)
    return events[0] if events else None
