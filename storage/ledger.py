"""The ledger of a digest's deliveries as its sends go: read, marked, given up, finished.

The fan-out (bot/digest/sending.py) reads the open digests and their pending rows a batch at a
time, by chat id, and marks each send as it returns, many in one statement. A row waits for its
due time, the digest's unless it has its own (a reminder of a day, at 09:00 in its chat's zone):
so a digest stays open until its last zone's hour. A digest is done once no row of it is
pending; one gone stale is superseded, with the rows it had not reached. What a digest is and
who it goes to, written before any send, is storage/digests.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, bindparam, case, exists, false, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bot_models import Chat, Delivery, Digest, Subscription
from storage.digests import DeliveryStatus, DigestStatus, Kind, reminder_audience

BATCH = 500
# Notices come before the reminders planned in the same tick: "moved", then "see you there".
_KIND_ORDER = {
    Kind.CANCELLED: 0,
    Kind.RESTORED: 0,
    Kind.CHANGED: 1,
    Kind.REMINDER: 2,
    Kind.SUMMARY: 3,
}


@dataclass(frozen=True)
class Pending:
    """A delivery still to make, how often it has been tried, and the words it gets: those of
    its language and zone, or (None) the digest's own text."""

    chat_id: int
    attempts: int
    language: str | None = None
    zone: str | None = None


@dataclass(frozen=True)
class Mark:
    """The outcome of one send: a delivery status, and the error if there was one."""

    chat_id: int
    status: DeliveryStatus
    error: str | None = None


async def open_digests(session: AsyncSession) -> Sequence[Digest]:
    """Digests with deliveries to make, in the order they should reach a chat."""
    order = case(_KIND_ORDER, value=Digest.kind, else_=len(_KIND_ORDER))
    found = await session.scalars(
        select(Digest)
        .where(Digest.status == DigestStatus.OPEN)
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
        (Delivery.status == DeliveryStatus.SENT, "sent"),
        (Delivery.status == DeliveryStatus.PENDING, "remaining"),
        (gone, "blocked"),
        else_="failed",
    )
    # A migrated group's duplicate row: its delivery lives on under the new id.
    duplicate = and_(
        Delivery.status == DeliveryStatus.SKIPPED,
        func.coalesce(Delivery.error, "").startswith("migrated to "),
    )
    rows = await session.execute(
        select(outcome, func.count())
        .where(Delivery.digest_id == digest_id, ~duplicate)
        .group_by(outcome)
    )
    return Counts(**{str(name): int(number) for name, number in rows})


def _due(digest_id: str, now: datetime) -> ColumnElement[bool]:
    """A pending delivery of the digest whose time has come: its own, or the digest's."""
    digest_due = select(Digest.due_at).where(Digest.id == digest_id).scalar_subquery()
    return and_(
        Delivery.digest_id == digest_id,
        Delivery.status == DeliveryStatus.PENDING,
        func.coalesce(Delivery.due_at, digest_due) <= now,
    )


async def pending(
    session: AsyncSession,
    *,
    digest_id: str,
    now: datetime,
    after: int | None = None,
    limit: int = BATCH,
) -> Sequence[Pending]:
    """The next pending deliveries of a digest due by ``now``, by chat id, after ``after``:
    keyset pages."""
    query = select(Delivery.chat_id, Delivery.attempts, Delivery.language, Delivery.zone).where(
        _due(digest_id, now)
    )
    if after is not None:
        query = query.where(Delivery.chat_id > after)
    rows = await session.execute(query.order_by(Delivery.chat_id).limit(limit))
    return [Pending(*row) for row in rows]


async def pending_of(
    session: AsyncSession, *, digest_id: str, chat_id: int, now: datetime
) -> Pending | None:
    """The chat's delivery of the digest, if it is pending and due by ``now``."""
    row = (
        await session.execute(
            select(Delivery.chat_id, Delivery.attempts, Delivery.language, Delivery.zone).where(
                _due(digest_id, now), Delivery.chat_id == chat_id
            )
        )
    ).first()
    return None if row is None else Pending(*row)


async def skip_unsubscribed(
    session: AsyncSession, *, digest_id: str, lead: str, channel_id: int | None, now: datetime
) -> None:
    """Give up a reminder's deliveries that waited for their chat's own hour, now due, whose
    chat no longer wants it: it unsubscribed, turned this lead off or left since the reminder
    was made. The others were written as it was made, and go at once."""
    wanted = reminder_audience(lead).where(Subscription.chat_id == Delivery.chat_id).exists()
    query = update(Delivery).where(_due(digest_id, now), Delivery.due_at.is_not(None), ~wanted)
    if channel_id is not None:
        query = query.where(Delivery.chat_id != channel_id)
    await session.execute(
        query.values(status=DeliveryStatus.SKIPPED, error="no longer subscribed", updated_at=now)
    )


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
        .where(Delivery.digest_id == digest_id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SKIPPED, error=reason, updated_at=now)
    )


async def supersede(session: AsyncSession, *, digest_id: str, now: datetime) -> None:
    """The digest went stale mid-way: the deliveries not made are superseded, and so is it."""
    await session.execute(
        update(Delivery)
        .where(Delivery.digest_id == digest_id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SUPERSEDED, updated_at=now)
    )
    await session.execute(
        update(Digest).where(Digest.id == digest_id).values(status=DigestStatus.SUPERSEDED)
    )


async def finish(session: AsyncSession, *, digest_id: str) -> bool:
    """Mark the digest done if it has no pending deliveries left; True if it is done now."""
    left = (
        select(Delivery.chat_id)
        .where(Delivery.digest_id == digest_id, Delivery.status == DeliveryStatus.PENDING)
        .exists()
    )
    result = await session.execute(
        update(Digest)
        .where(Digest.id == digest_id, Digest.status == DigestStatus.OPEN, ~left)
        .values(status=DigestStatus.DONE)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]  # a DML result has a rowcount


@dataclass(frozen=True)
class Backlog:
    """The deliveries still pending, and the due time of the oldest (its own, or its digest's)."""

    pending: int
    oldest_due: datetime | None


async def backlog(session: AsyncSession) -> Backlog:
    """How far behind the ledger is, for the metrics: one aggregate over the pending rows."""
    due = func.min(func.coalesce(Delivery.due_at, Digest.due_at))
    count, oldest = (
        await session.execute(
            select(func.count(), due.label("oldest"))
            .select_from(Delivery)
            .join(Digest, Digest.id == Delivery.digest_id)
            .where(Delivery.status == DeliveryStatus.PENDING)
        )
    ).one()
    return Backlog(int(count), oldest)
