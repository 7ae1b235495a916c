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
    # The page's language ("en", "ru", "kk"); NULL for sources added before it was recorded.
    language: Mapped[str | None] = mapped_column(String(8))
    # The page's text as /addsource read it, for a source added from Telegram; /export writes
    # it to ``file``. NULL for sources whose text, if any, is a file in content/.
    text: Mapped[str | None] = mapped_column(Text)
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
    # Which side of the cooperation the person is on: "kazakhstan", "jinr" or "other". What
    # they were is in their roles, each true as of a date.
    side: Mapped[str] = mapped_column(String(32), index=True)
    # Other spellings of the name ("Sakhiev; Сахиев"), "; "-separated: searched, not shown.
    aliases: Mapped[str | None] = mapped_column(Text)
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"))


class Role(Item, Base):
    """What a person was, as of a date, as one source says: roles are never "current"."""

    __tablename__ = "roles"

    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[str] = mapped_column(Text)
    # The body, where the source names it apart from the title ("JINR"); NULL where the title
    # says it ("Vice-President of NAS RK") or the source does not.
    organisation: Mapped[str | None] = mapped_column(Text)
    # The first day of the day, month or year the source gives, and which of them it is.
    as_of: Mapped[date]
    as_of_precision: Mapped[str] = mapped_column(String(8))
    source_id: Mapped[str] = mapped_column(ForeignKey("sources.id"))


class Agreement(Item, Base):
    """An agreement, memorandum or letter of intent: who signed it, when, and what for."""

    __tablename__ = "agreements"

    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(32))
    # As Role.as_of: the date as precisely as the source gives it.
    signed: Mapped[date]
    signed_precision: Mapped[str] = mapped_column(String(8))
    place: Mapped[str] = mapped_column(Text)
    # The bodies, and the people (ids) who signed, "; "-separated.
    parties: Mapped[str] = mapped_column(Text)
    signatories: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
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
    # Who took part, as the source names them: people ids, "; "-separated.
    people: Mapped[str | None] = mapped_column(Text)
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


class Translation(Base):
    """One field of a curated item in a language other than English, the curated base.

    Keyed by what it translates: the item's kind and id, the field ("title", "text", "name"
    ...) and the language. Its origin is a source in that language whose wording it takes
    (``source_id``), or NULL for our own translation, which the bot marks as such.
    """

    __tablename__ = "translations"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    field: Mapped[str] = mapped_column(String(32), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    source_id: Mapped[str | None] = mapped_column(ForeignKey("sources.id"))
    # "content" for rows loaded from content/, "admin" for rows added from Telegram.
    origin: Mapped[str] = mapped_column(String(16), default="content")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# The revision counter of the curated tables (sources, topics, facts, people, roles,
# facilities, events, agreements and translations).
KNOWLEDGE = "knowledge"


class Revision(Base):
    """Counters that triggers raise on every write to a group of tables.

    A process holding a copy of the data can tell with one cheap read whether it is stale,
    whoever wrote: the bot itself, ``coopbot content sync``, or another tool.
    """

    __tablename__ = "revisions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class ItemKind(StrEnum):
    """What a curated item is, by the name commands, search hits and history use.

    The values are stored (``Change.kind``) and shown (/history): they never change.
    """

    SOURCE = "source"
    TOPIC = "topic"
    FACT = "fact"
    PERSON = "person"
    ROLE = "role"
    FACILITY = "facility"
    EVENT = "event"
    AGREEMENT = "agreement"


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
