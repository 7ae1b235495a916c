"""The digest ledger in SQLite: keys, recipients chosen in one statement, pages of pending rows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from storage import chats, digests, ledger
from storage.bot_models import Chat, Delivery, Digest, Subscription
from storage.db import session_factory
from storage.digests import Kind, NewDigest

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


async def add_chats(session: AsyncSession, rows: list[tuple[int, bool, str | None]]) -> None:
    """Chats as (id, active, lead_times), each subscribed to events and news."""
    await session.execute(
        insert(Chat),
        [{"id": i, "type": "private", "active": active} for i, active, _ in rows],
    )
    await session.execute(
        insert(Subscription),
        [
            {"chat_id": i, "events": True, "news": True, "lead_times": leads}
            for i, _, leads in rows
        ],
    )


def reminder(key: str = "reminder:e:1h:x") -> NewDigest:
    return NewDigest(key=key, kind=Kind.REMINDER, due_at=NOW, text="hi", lead="1h")


async def test_a_digest_key_is_created_once(engine: AsyncEngine) -> None:
    async with session_factory(engine).begin() as session:
        assert await digests.create(session, digest=reminder(), now=NOW) is True
        assert await digests.create(session, digest=reminder(), now=NOW) is False
        assert await session.scalar(select(func.count()).select_from(Digest)) == 1


async def test_recipients_are_active_chats_wanting_the_lead_and_the_channel(
    engine: AsyncEngine,
) -> None:
    async with session_factory(engine).begin() as session:
        await add_chats(
            session,
            [
                (1, True, None),
                (2, True, "1h"),
                (3, True, "7d,1d"),
                (4, False, None),
                (5, True, "11h"),
            ],
        )
        await digests.create(session, digest=reminder(), now=NOW)
        await digests.fill(
            session,
            digest_id="reminder:e:1h:x",
            audience=digests.reminder_audience("1h"),
            channel_id=-100900,
            now=NOW,
        )
        chats = await session.scalars(select(Delivery.chat_id).order_by(Delivery.chat_id))
        assert list(chats) == [-100900, 1, 2]


async def test_pending_deliveries_come_in_pages_by_chat_id(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        await add_chats(session, [(chat_id, True, None) for chat_id in range(1, 1201)])
        await digests.create(session, digest=reminder(), now=NOW)
        await digests.fill(
            session,
            digest_id="reminder:e:1h:x",
            audience=digests.reminder_audience("1h"),
            channel_id=None,
            now=NOW,
        )
    seen: list[int] = []
    sizes: list[int] = []
    after = None
    async with sessions() as session:
        while page := await ledger.pending(
            session, digest_id="reminder:e:1h:x", now=NOW, after=after
        ):
            sizes.append(len(page))
            seen.extend(row.chat_id for row in page)
            after = page[-1].chat_id
    assert sizes == [500, 500, 200]
    assert seen == list(range(1, 1201))


async def test_a_migrated_chat_keeps_the_subscription_its_new_id_already_had(
    engine: AsyncEngine,
) -> None:
    async with session_factory(engine).begin() as session:
        await add_chats(session, [(-5, True, "1h"), (-1005, True, "7d")])
        await chats.migrate_chat(session, old=-5, new=-1005, now=NOW)
        subscribed = await session.scalars(select(Subscription))
        assert [(s.chat_id, s.lead_times) for s in subscribed] == [(-1005, "7d")]
        assert await session.scalar(select(Chat.active).where(Chat.id == -5)) is False
