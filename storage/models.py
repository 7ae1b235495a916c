"""The database schema: curated knowledge, its sources, and the chats the bot has met."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime; naive values are refused rather than guessed at.

    SQLite has no time zone type, so values are stored as naive UTC and made aware on the way out.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime,
        date: Date,
        int: BigInteger,
    }


class Source(Base):
    """Where a curated item comes from: a published text, by URL or by file in content/."""

    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    publisher: Mapped[str] = mapped_column(Text)
    # The page's own date, when it gives one; else the day it was cited, when that is known.
    published: Mapped[date | None]
    cited: Mapped[date | None]
    url: Mapped[str | None] = mapped_column(Text)
    file: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(16), default="content")


class Item:
    """Columns every curated item shares: a stable id, its source, where it came from, order."""

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    # "content" for rows loaded from content/, "admin" for rows added from Telegram.
    origin: Mapped[str] = mapped_column(String(16), default="content")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Topic(Base):
    """A heading facts are filed under, e.g. "agreement" or "directions"."""

    __tablename__ = "topics"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)


class Fact(Item, Base):
    __tablename__ = "facts"

    topic: Mapped[str] = mapped_column(ForeignKey("topics.id"), index=True)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"))
    deleted_at: Mapped[datetime | None]
    # Raised by every update (SQLAlchemy's version counter): an admin's edit names the version
    # it was made on, and a different one means someone changed the fact in between.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  # SQLAlchemy reads it once


class Person(Item, Base):
    __tablename__ = "people"

    name: Mapped[str] = mapped_column(Text)
    # Which side of the cooperation the person was on: "kazakhstan" or "jinr".
    side: Mapped[str] = mapped_column(String(32), index=True)
    role: Mapped[str] = mapped_column(Text)
    # Other spellings of the name ("Sakhiev; Сахиев"), "; "-separated: searched, not shown.
    aliases: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"))


class Facility(Item, Base):
    __tablename__ = "facilities"

    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    # As Person.aliases.
    aliases: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"))


class Event(Item, Base):
    """Something that happens at a time, known to the precision its source gives.

    ``starts_at``/``ends_at`` are the first instant of the period in the event's zone (in UTC);
    ``precision`` ("minute", "day" or "month") says how much of it the source actually states.
    """

    __tablename__ = "events"

    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    place: Mapped[str] = mapped_column(Text)
    zone: Mapped[str] = mapped_column(String(64))
    precision: Mapped[str] = mapped_column(String(8))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"))
    # Since when the event has been scheduled with this start: a reminder that fell due before
    # is not "late" but skipped. NULL for rows older than migration 0013: known all along.
    scheduled_since: Mapped[datetime | None]
    # As Fact.version.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  # SQLAlchemy reads it once


def new_row_times(model: type[Base], now: datetime) -> dict[str, datetime]:
    """The bookkeeping times of a new curated row, from the writer's clock."""
    times = {"created_at": now, "updated_at": now} if issubclass(model, Item) else {}
    return {**times, "scheduled_since": now} if model is Event else times


def reschedule(event: Event, values: Mapping[str, object], *, now: datetime) -> None:
    """Stamp ``scheduled_since`` when these values give the event a new start or schedule it
    again; the one rule for every writer (curators' forms, /revert, content sync)."""
    moved = "starts_at" in values and values["starts_at"] != event.starts_at
    again = values.get("status") == "scheduled" and event.status != "scheduled"
    if moved or again:
        event.scheduled_since = now


class Chat(Base):
    """A private chat, group or channel the bot has heard from."""

    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


# The revision counter of the curated tables (sources, topics, facts, people, facilities, events).
KNOWLEDGE = "knowledge"


class Revision(Base):
    """Counters that triggers raise on every write to a group of tables.

    A process holding a copy of the data can tell with one cheap read whether it is stale,
    whoever wrote: the bot itself, ``coopbot content sync``, or another tool.
    """

    __tablename__ = "revisions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class Subscription(Base):
    """What a chat wants to receive; no row, or one not active, means no digests."""

    __tablename__ = "subscriptions"

    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"), primary_key=True)
    # Reminders ahead of events, and notices when an event moves or is cancelled.
    events: Mapped[bool] = mapped_column(default=True)
    # The periodic summary of new facts and coming events.
    news: Mapped[bool] = mapped_column(default=True)
    # The reminder lead times this chat wants, e.g. "7d,1h"; NULL means every configured one.
    lead_times: Mapped[str | None]
    # The forum topic of the chat that digests go to (where /subscribe was sent); NULL for the
    # chat itself, or a forum's General topic.
    thread_id: Mapped[int | None]
    # False once the chat unsubscribed: its settings wait here for a /subscribe.
    active: Mapped[bool] = mapped_column(default=True)
    # Set by the code that changes them, from the bot's clock (no onupdate: an UPDATE that
    # happens to repeat the stored time would otherwise get the machine's).
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Digest(Base):
    """One message for many chats: a reminder, a notice, a summary or an admin's broadcast, its
    words fixed at creation.

    The id is a key made of what the digest is about (``reminder:<event>:<lead>:<start>``), so a
    second tick, or a restart, that plans the same thing finds it already there.
    """

    __tablename__ = "digests"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    # "reminder", "changed", "cancelled", "summary" or "broadcast".
    kind: Mapped[str] = mapped_column(String(16))
    # No foreign key: the ledger is a record of what was sent, whatever becomes of the event.
    event_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # A reminder's lead time as the config writes it ("1d"); what subscriptions.lead_times lists.
    lead: Mapped[str | None] = mapped_column(String(16))
    # The event's start the digest was made for: a different one now means the event moved.
    starts_at: Mapped[datetime | None]
    # The place and end the recipients of a reminder or notice were told: a different one now
    # brings a "changed" notice. NULL place on digests made before migration 0007: not known,
    # so never a reason for a notice.
    place: Mapped[str | None] = mapped_column(Text)
    ends_at: Mapped[datetime | None]
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Created more than two ticks after it was due, e.g. after the bot was down.
    late: Mapped[bool] = mapped_column(default=False)
    # "open" while deliveries are pending, then "done"; "skipped" if it was never to be sent;
    # "superseded" if it went stale while it went out.
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    # The HTML every recipient gets; empty for a skipped digest.
    text: Mapped[str] = mapped_column(Text)
    # A broadcast's admin, and the message in their chat that shows its progress, edited as the
    # fan-out goes (after a restart too); NULL for the digests the bot plans itself.
    admin_id: Mapped[int | None]
    progress_chat_id: Mapped[int | None]
    progress_message_id: Mapped[int | None]


class Delivery(Base):
    """One digest to one chat: written before the send, marked right after it."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status_digest_id", "status", "digest_id"),)

    digest_id: Mapped[str] = mapped_column(ForeignKey("digests.id"), primary_key=True)
    # No foreign key: the digest channel need not be a chat the bot has heard from.
    chat_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # "pending", "sent", "failed", "skipped" or "superseded" (storage.digests.DeliveryStatus).
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ItemKind(StrEnum):
    """What a curated item is, by the name commands, search hits and history use.

    The values are stored (``Change.kind``) and shown (/history): they never change.
    """

    SOURCE = "source"
    TOPIC = "topic"
    FACT = "fact"
    PERSON = "person"
    FACILITY = "facility"
    EVENT = "event"


class Action(StrEnum):
    """What a change did to an item; stored (``Change.action``) and shown in /history."""

    ADD = "add"
    EDIT = "edit"
    DELETE = "delete"
    RESTORE = "restore"
    CANCEL = "cancel"
    REVERT = "revert"
    IMPORT = "import"


class Change(Base):
    """One admin change to a curated item: who, when, and the item before and after, as JSON.

    ``before`` is NULL for an item the change created. A revert is a change of its own that
    names the change it undid in ``reverts``.
    """

    __tablename__ = "changes"

    # INTEGER, not BIGINT: only an INTEGER primary key is SQLite's self-numbering rowid.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    admin_id: Mapped[int]
    # An ItemKind, an Action: read back as plain strings, equal to the members.
    kind: Mapped[str] = mapped_column(String(16))
    item_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    reverts: Mapped[int | None] = mapped_column(Integer, ForeignKey("changes.id"))

    __table_args__ = (Index("ix_changes_kind_item_id", "kind", "item_id"),)


class Refusal(Base):
    """Someone who is not an admin tried an admin command, button or document: nothing else
    is written. One row per user, chat, command and minute, with how many times: a burst is
    one row, not one per attempt."""

    __tablename__ = "refusals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # The minute the attempts fell in (its first second, UTC).
    at: Mapped[datetime]
    user_id: Mapped[int | None]
    # As the user was called at their latest attempt: usernames change, ids do not.
    username: Mapped[str | None] = mapped_column(String(64))
    chat_id: Mapped[int | None]
    # The command word ("/stats"), or the kind of button pressed ("button rv").
    command: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer, default=1)

    # The minute first: it finds a minute's row to count on, and the old rows to prune.
    __table_args__ = (
        Index("ix_refusals_minute", "at", "user_id", "chat_id", "command", unique=True),
    )


class Inbox(Base):
    """An update fetched and confirmed to Telegram but not yet handled, as Telegram sent it.

    Confirming lets the next fetch reach past a chat whose own backlog waits on its pace; the
    row is what keeps such an update safe across a stop or a crash until it has been handled.
    """

    __tablename__ = "inbox"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    # The update's JSON, read again with PTB at the next start.
    payload: Mapped[str] = mapped_column(Text)
