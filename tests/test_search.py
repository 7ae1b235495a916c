"""Search: best matches first, user text never treated as query syntax."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import search
from storage.models import Fact

Sessions = async_sessionmaker[AsyncSession]


async def test_a_name_finds_its_person(sessions: Sessions) -> None:
    async with sessions() as session:
        results = await search.search(session, "Sakhiyev")
    assert results.hits[0].kind == "person"
    assert results.hits[0].title == "Sayabek Sakhiyev"


async def test_a_title_match_ranks_above_a_body_match(sessions: Sessions) -> None:
    async with sessions() as session:
        results = await search.search(session, "Govorun")
    assert results.hits[0].kind == "facility"
    assert "Govorun" in results.hits[0].title


async def test_stemming_finds_singular_from_plural(sessions: Sessions) -> None:
    async with sessions() as session:
        results = await search.search(session, "reactors")
    titles = " ".join(hit.title + hit.snippet for hit in results.hits)
    assert "IBR-2" in titles


async def test_every_word_must_match_when_something_has_them_all(sessions: Sessions) -> None:
    async with sessions() as session:
        both = await search.search(session, "DIRAC Almaty", limit=50)
        one = await search.search(session, "Almaty", limit=50)
    assert 0 < both.total < one.total
    for hit in both.hits:
        text = (hit.title + hit.snippet).lower()
        assert "dirac" in text or "almaty" in text


async def test_words_that_never_occur_together_fall_back_to_any(sessions: Sessions) -> None:
    async with sessions() as session:
        results = await search.search(session, "Govorun xylophone")
    assert results.total > 0
    assert "Govorun" in results.hits[0].title


@pytest.mark.parametrize(
    "query",
    ['"', "NEAR(a b)", "a OR", "*", "-dirac", "title:dirac", "^x", "'; DROP TABLE facts; --"],
)
async def test_query_syntax_in_user_text_is_harmless(sessions: Sessions, query: str) -> None:
    async with sessions() as session:
        await search.search(session, query)
        facts_left = await session.scalar(Fact.__table__.select().with_only_columns(Fact.id))
    assert facts_left is not None


async def test_no_words_means_no_results(sessions: Sessions) -> None:
    async with sessions() as session:
        assert (await search.search(session, " !? ")).total == 0


async def test_snippet_marks_the_matched_words(sessions: Sessions) -> None:
    async with sessions() as session:
        results = await search.search(session, "biomonitoring")
    assert any(f"{search.MATCH_START}" in hit.snippet for hit in results.hits)


async def test_a_deleted_fact_leaves_the_index(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        fact = (await session.scalars(Fact.__table__.select().with_only_columns(Fact.id))).first()
        assert fact is not None
        row = await session.get(Fact, fact)
        assert row is not None
        before = await search.search(session, row.title, limit=100)
        assert row.id in {hit.item_id for hit in before.hits}
        row.deleted_at = datetime.now(UTC)
    async with sessions() as session:
        after = await search.search(session, row.title, limit=100)
    assert row.id not in {hit.item_id for hit in after.hits}


async def test_a_page_past_the_end_reports_the_total(sessions: Sessions) -> None:
    async with sessions() as session:
        first = await search.search(session, "JINR", limit=5)
        beyond = await search.search(session, "JINR", limit=5, offset=first.total + 10)
    assert beyond.hits == []
    assert beyond.total == first.total > 5
