"""The bot's own tables: the chats it has met and what they subscribed to, the digests and
each delivery, refused attempts at the curators' tools, and updates in hand.

Apart from the record (storage/models.py): these change with the bot's work, not with the
curated knowledge, and no revision counter follows them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, FetchedValue, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow


class Chat(Base):
    """A private chat, group or channel the bot has heard from."""

    __tablename__ = "chats"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(Text)
    # The chat's language: Telegram's for its first sender, then what /language chose.
    language: Mapped[str | None] = mapped_column(String(16))
    # The IANA zone its times are shown in; NULL for the bot's ([time] zone).
    zone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


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
    # The order digests were written in, numbered by the database (migration 0020): a notice
    # and the reminders of one tick share their created_at.
    written: Mapped[int | None] = mapped_column(BigInteger, server_default=FetchedValue())
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
    # The digest's words this chat gets (digest_texts): its language and zone when the digest
    # was made. NULL for a digest with one text for all, a broadcast's.
    language: Mapped[str | None] = mapped_column(String(8))
    zone: Mapped[str | None] = mapped_column(String(64))
    # Not sent before this; NULL: when the digest is due. A reminder of an event known only to
    # its day is due at 09:00 in each reader's zone.
    due_at: Mapped[datetime | None]


class DigestText(Base):
    """A digest's words in one language and zone, written once for all its chats that read
    them; a delivery with no match gets the digest's own text."""

    __tablename__ = "digest_texts"

    digest_id: Mapped[str] = mapped_column(ForeignKey("digests.id"), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    zone: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)


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
