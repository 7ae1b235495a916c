"""Syncing content/ into the database: upserts by id, keeps admin edits, deletes nothing."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.curation.loading import load_content
from storage.db import session_factory
from storage.models import (
    Agreement,
    Event,
    Facility,
    Fact,
    Person,
    Role,
    Source,
    Topic,
    Translation,
)
from storage.search import SearchIndex
from storage.sync import ContentRecords, KindCounts, SyncReport, sync_content
from tests.helpers import FACTS

CONTENT = Path(__file__).resolve().parent.parent / "content"
SEARCHABLE = ("facts", "people", "facilities", "events", "agreements")


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture(scope="module")
def records() -> ContentRecords:
    return load_content(CONTENT)


async def sync(sessions: async_sessionmaker[AsyncSession], records: ContentRecords) -> SyncReport:
    async with sessions.begin() as session:
        return await sync_content(session, records)


async def count(sessions: async_sessionmaker[AsyncSession], model: type[object]) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def fact_texts(sessions: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    async with sessions() as session:
        return {fact.id: fact.text for fact in await session.scalars(select(Fact))}


async def stamps(sessions: async_sessionmaker[AsyncSession]) -> dict[str, datetime]:
    async with sessions() as session:
        return {fact.id: fact.updated_at for fact in await session.scalars(select(Fact))}


def with_fact(records: ContentRecords, fact_id: str, **changes: object) -> ContentRecords:
    facts = tuple({**fact, **changes} if fact["id"] == fact_id else fact for fact in records.facts)
    return dataclasses.replace(records, facts=facts)


async def test_first_sync_creates_everything(
    sessions: async_sessionmaker[AsyncSession], records: ContentRecords
) -> None:
    report = await sync(sessions, records)

    models = (Source, Topic, Fact, Person, Role, Facility, Event, Agreement, Translation)
    for (kind, counts), model in zip(report.kinds.items(), models, strict=True):
        expected = len(getattr(records, kind))
        assert counts == KindCounts(created=expected), kind
        assert await count(sessions, model) == expected, kind
    assert f"facts: {len(records.facts)} created" in str(report)


async def test_second_sync_reports_everything_unchanged(
    sessions: async_sessionmaker[AsyncSession], records: ContentRecords
) -> None:
    await sync(sessions, records)
    before = await stamps(sessions)

    report = await sync(sessions, records)

    assert report.changed == 0
    for kind, counts in report.kinds.items():
        assert counts == KindCounts(unchanged=len(getattr(records, kind))), kind
    assert await stamps(sessions) == before


async def test_changing_one_fact_updates_only_that_fact(
    sessions: async_sessionmaker[AsyncSession], records: ContentRecords
) -> None:
    await sync(sessions, records)
    before = await stamps(sessions)

    report = await sync(sessions, with_fact(records, "dissertations", text="Reworded."))

    assert report.kinds["facts"] == KindCounts(updated=1, unchanged=len(records.facts) - 1)
    assert report.changed == 1
    assert f"facts: 1 updated, {FACTS - 1} unchanged" in str(report)
    assert (await fact_texts(sessions))["dissertations"] == "Reworded."
    after = await stamps(sessions)
    assert {fact_id for fact_id in after if after[fact_id] != before[fact_id]} <= {"dissertations"}


async def test_admin_rows_survive_a_sync_and_nothing_is_deleted(
    sessions: async_sessionmaker[AsyncSession], records: ContentRecords
) -> None:
    await sync(sessions, records)
    async with sessions.begin() as session:
        await session.execute(
            update(Fact).where(Fact.id == "dissertations").values(origin="admin", text="By hand.")
        )
        session.add(
            Fact(
                id="added-from-telegram",
                topic="agreement",
                title="Added by an admin",
                text="Not in content/.",
                source_id=records.sources[0]["id"],
                origin="admin",
            )
        )

    # The admin's fact also differs from content/, so only its origin keeps it as it is.
    report = await sync(sessions, with_fact(records, "dissertations", text="Content rewrite."))

    assert report.kinds["facts"] == KindCounts(unchanged=len(records.facts) - 1, kept=1)
    texts = await fact_texts(sessions)
    assert texts["dissertations"] == "By hand."
    assert texts["added-from-telegram"] == "Not in content/."
    assert await count(sessions, Fact) == len(records.facts) + 1


async def test_a_failing_sync_leaves_the_database_as_it_was(
    sessions: async_sessionmaker[AsyncSession], records: ContentRecords
) -> None:
    await sync(sessions, records)
    before = await fact_texts(sessions)
    orphan = {**records.facts[0], "id": "orphan", "topic": "no-such-topic"}
    broken = with_fact(records, "dissertations", text="Half-applied?")
    broken = dataclasses.replace(broken, facts=(*broken.facts, orphan))

    with pytest.raises(IntegrityError):
        await sync(sessions, broken)

    assert await fact_texts(sessions) == before


async def test_synced_items_are_searchable(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], records: ContentRecords
) -> None:
    await sync(sessions, records)
    await sync(sessions, with_fact(records, "dissertations", text="Reworded."))

    async with sessions() as session:
        # Both databases keep each indexed item's text in search_text (migrations 0017, 0019).
        indexed = await session.scalar(text("SELECT count(*) FROM search_text"))
    index = await SearchIndex.open(engine.url.render_as_string(hide_password=False))
    try:
        found = {hit.item_id for hit in (await index.search("Govorun")).hits}
    finally:
        await index.close()
    assert indexed == sum(len(getattr(records, kind)) for kind in SEARCHABLE)
    assert "govorun-supercomputer" in found
