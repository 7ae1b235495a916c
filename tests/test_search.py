"""Search: best matches first, user text never treated as query syntax."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from storage import search
from storage.models import Fact, Person, Role, Translation

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def index(sessions: Sessions, settings: Settings) -> AsyncIterator[search.SearchIndex]:
    """The index over content/, as the bot reads it."""
    opened = await search.SearchIndex.open(settings.storage_url)
    yield opened
    await opened.close()


async def test_a_name_finds_its_person(index: search.SearchIndex) -> None:
    results = await index.search("Sakhiyev")
    assert results.hits[0].kind == "person"
    assert results.hits[0].title == "Sayabek Sakhiyev"


async def test_a_title_match_ranks_above_a_body_match(index: search.SearchIndex) -> None:
    results = await index.search("Govorun")
    assert results.hits[0].kind == "facility"
    assert "Govorun" in results.hits[0].title


async def test_stemming_finds_singular_from_plural(index: search.SearchIndex) -> None:
    results = await index.search("reactors")
    assert "IBR-2" in " ".join(hit.title + hit.snippet for hit in results.hits)


async def test_every_word_must_match_when_something_has_them_all(
    index: search.SearchIndex,
) -> None:
    both = await index.search("DIRAC Almaty", limit=50)
    one = await index.search("Almaty", limit=50)
    assert 0 < both.total < one.total
    for hit in both.hits:
        text = (hit.title + hit.snippet).lower()
        assert "dirac" in text or "almaty" in text


async def test_words_that_never_occur_together_fall_back_to_any(
    index: search.SearchIndex,
) -> None:
    results = await index.search("Govorun xylophone")
    assert results.total > 0
    assert "Govorun" in results.hits[0].title


@pytest.mark.parametrize(
    "query",
    ['"', "NEAR(a b)", "a OR", "*", "-dirac", "title:dirac", "^x", "'; DROP TABLE facts; --"],
)
async def test_query_syntax_in_user_text_is_harmless(
    index: search.SearchIndex, sessions: Sessions, query: str
) -> None:
    await index.search(query)
    async with sessions() as session:
        assert await session.scalar(select(Fact.id).limit(1)) is not None


async def test_no_words_means_no_results(index: search.SearchIndex) -> None:
    assert (await index.search(" !? ")).total == 0


async def test_snippet_marks_the_matched_words(index: search.SearchIndex) -> None:
    results = await index.search("biomonitoring")
    assert any(search.MATCH_START in hit.snippet for hit in results.hits)


async def test_a_deleted_fact_leaves_the_index_at_once(
    index: search.SearchIndex, sessions: Sessions
) -> None:
    async with sessions() as session:
        fact = await session.scalar(select(Fact).where(Fact.id == "dirac-cloud"))
    assert fact is not None
    before = await index.search(fact.title, limit=100)
    assert fact.id in {hit.item_id for hit in before.hits}
    async with sessions.begin() as session:
        await session.execute(
            update(Fact).where(Fact.id == fact.id).values(deleted_at=datetime.now(UTC))
        )
    after = await index.search(fact.title, limit=100)
    assert fact.id not in {hit.item_id for hit in after.hits}


async def test_a_page_past_the_end_reports_the_total(index: search.SearchIndex) -> None:
    first = await index.search("JINR", limit=5)
    beyond = await index.search("JINR", limit=5, offset=first.total + 10)
    assert beyond.hits == []
    assert beyond.total == first.total > 5


async def test_only_what_readers_see_is_indexed(sessions: Sessions) -> None:
    """Topic ids and people's sides ("jinr", "kazakhstan") are not text anyone reads."""
    async with sessions() as session:
        indexed = {
            (kind, item_id): (title, body)
            for kind, item_id, title, body in await session.execute(
                text("SELECT kind, item_id, title, body FROM search_text")
            )
        }
        facts = (await session.scalars(select(Fact))).all()
        people = (await session.scalars(select(Person))).all()
        roles = (await session.scalars(select(Role))).all()
    assert facts
    assert people
    for fact in facts:
        assert indexed["fact", fact.id] == (fact.title, fact.text)
    for person in people:
        # Every role the record gives the person, in whatever order the index joined them.
        said = " ".join(
            f"{r.role} {r.organisation or ''}" for r in roles if r.person_id == person.id
        )
        name, body = indexed["person", person.id]
        assert (name, sorted(body.split())) == (person.name, sorted(said.split()))


@pytest.mark.parametrize(
    ("typed", "finds"),
    [
        ("Sakhiev", "Sayabek Sakhiyev"),
        ("Сахиев", "Sayabek Sakhiyev"),
        ("Sakhiyv", "Sayabek Sakhiyev"),
        ("Tokaev", "Trubnikov's meeting with Kassym-Jomart Tokayev"),
        # Written as the record spells him in Russian, the name finds the person himself.
        ("Токаев", "Kassym-Jomart Tokayev"),
        ("Трубников", "Grigory Trubnikov"),
        ("ИБР-2", "IBR-2 Research Reactor"),
    ],
)
async def test_names_are_found_however_they_are_commonly_written(
    index: search.SearchIndex, typed: str, finds: str
) -> None:
    results = await index.search(typed, limit=50)
    assert finds in [hit.title for hit in results.hits], [hit.title for hit in results.hits]


@pytest.mark.parametrize(("typed", "written"), [("Дубна", "dubna"), ("Казахстан", "kazakhstan")])
async def test_places_in_cyrillic_find_the_record_through_its_russian_words(
    index: search.SearchIndex, typed: str, written: str
) -> None:
    results = await index.search(typed, limit=100)
    latin = await index.search(written, limit=100)
    assert not results.respelled
    assert latin.total > 0
    # Every item that names the place in English names it in Russian too.
    assert {hit.item_id for hit in latin.hits} <= {hit.item_id for hit in results.hits}


async def test_a_word_far_from_every_term_still_finds_nothing(index: search.SearchIndex) -> None:
    assert (await index.search("xylophone")).total == 0
    assert (await index.search("Зоопарк")).total == 0


def _zhambyl_fact() -> Fact:
    """A fact content/ does not have, added as a curator would."""
    return Fact(
        id="zhambyl",
        topic="directions",
        title="A school in Zhambyl",
        text="Added by a test.",
        source_id="jinr-2023-10-04-agreement-of-intent",
    )


def _zhambyl() -> list[object]:
    """That fact and its four translations, as a sync writes them."""
    said = {
        ("title", "ru"): "Школа в Жамбыле",
        ("text", "ru"): "Добавлено тестом.",
        ("title", "kk"): "Жамбылдағы мектеп",
        ("text", "kk"): "Тест қосқан.",
    }
    return [_zhambyl_fact()] + [
        Translation(kind="fact", item_id="zhambyl", field=field, language=language, text=words)
        for (field, language), words in said.items()
    ]


async def test_close_spellings_know_a_word_added_after_the_first_search(
    index: search.SearchIndex, sessions: Sessions
) -> None:
    assert (await index.search("Жамбыл")).total == 0  # the terms are read here
    async with sessions.begin() as session:
        session.add(_zhambyl_fact())
    results = await index.search("Жамбыл")
    assert [hit.item_id for hit in results.hits] == ["zhambyl"]


@pytest.mark.postgresql
async def test_an_item_and_its_translations_are_indexed_once_at_commit(
    index: search.SearchIndex, sessions: Sessions
) -> None:
    """Migration 0021: five writes to one item rebuild its search row once, when the
    transaction commits; until then, and if it rolls back, search does not know them."""
    async with sessions() as session, session.begin():
        session.add_all(_zhambyl())
        await session.flush()
        assert (await index.search("мектеп")).total == 0  # not committed yet
        # The deferred rebuild runs now rather than at commit, so that this transaction's
        # own counts show it: one row put in and filled, not one per write.
        await session.execute(text("SET CONSTRAINTS search_pending_refresh IMMEDIATE"))
        written = await session.execute(
            text(
                "SELECT pg_stat_get_xact_tuples_inserted(r), pg_stat_get_xact_tuples_updated(r), "
                "pg_stat_get_xact_tuples_deleted(r) FROM CAST('search_text' AS regclass) r"
            )
        )
        assert tuple(written.one()) == (1, 1, 0)
    found = await index.search("мектеп", language="kk")
    assert [(hit.item_id, hit.title) for hit in found.hits] == [("zhambyl", "Жамбылдағы мектеп")]
    async with sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM search_pending")) == 0


@pytest.mark.postgresql
async def test_writes_rolled_back_leave_search_as_it_was(
    index: search.SearchIndex, sessions: Sessions
) -> None:
    async with sessions() as session:
        session.add_all(_zhambyl())
        await session.flush()
        await session.rollback()
    assert (await index.search("мектеп")).total == 0
    assert (await index.search("Zhambyl")).total == 0
    async with sessions() as session:
        assert await session.scalar(text("SELECT count(*) FROM search_pending")) == 0
