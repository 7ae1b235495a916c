"""Search in every language: an item is found by the words of its Russian and Kazakh
translations in any of their forms, once, and shown in the reader's language where translated."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from storage import search, search_sqlite, search_words, stemming
from storage.models import Fact, Translation
from tests.conftest import POSTGRESQL, Running

Sessions = async_sessionmaker[AsyncSession]

# Translations of a few items of content/, as the translations of the record will read.
RUSSIAN = {
    ("facility", "ibr-2"): {
        "name": "Исследовательский реактор ИБР-2",
        "description": "Импульсный реактор на быстрых нейтронах в Дубне.",
    },
    ("event", "nas-rk-visit-2023"): {
        "title": "Визит делегации Академии наук Казахстана в ОИЯИ",
        "description": "Делегация Национальной академии наук побывала в Дубне.",
    },
    ("event", "cp-session-2023"): {
        "description": "Сессия Комитета полномочных представителей прошла в Алматы.",
    },
}
KAZAKH = {
    ("facility", "ibr-2"): {
        "name": "ИБР-2 зерттеу реакторы",
        "description": "Дубнадағы шапшаң нейтрондардың импульстік реакторы.",
    },
    ("event", "cp-session-2023"): {
        "title": "Өкілетті өкілдер комитетінің сессиясы",
        "description": "Өкілетті өкілдер комитетінің сессиясы Алматыда өтті.",
    },
}


async def translate(
    sessions: Sessions, language: str, translations: dict[tuple[str, str], dict[str, str]]
) -> None:
    """Store the translations, as a content sync or a curator would, in place of those
    content/ gives in that language: the tests' words are the only ones searched."""
    async with sessions.begin() as session:
        await session.execute(delete(Translation).where(Translation.language == language))
        session.add_all(
            Translation(
                kind=kind, item_id=item_id, field=field, language=language, text=translated
            )
            for (kind, item_id), fields in translations.items()
            for field, translated in fields.items()
        )


@pytest.fixture
async def index(sessions: Sessions, settings: Settings) -> AsyncIterator[search.SearchIndex]:
    """The index over content/ with the translations above, as the bot reads it."""
    await translate(sessions, "ru", RUSSIAN)
    await translate(sessions, "kk", KAZAKH)
    opened = await search.SearchIndex.open(settings.storage_url)
    yield opened
    await opened.close()


def found(results: search.Results) -> list[str]:
    return [hit.item_id for hit in results.hits]


def marked(words: str) -> str:
    """Words as a snippet marks a match."""
    return f"{search.MATCH_START}{words}{search.MATCH_END}"


@pytest.mark.parametrize(
    ("query", "item"),
    [
        # Russian: "реакторы" finds "реактор"; the visit says "в Дубне".
        ("реакторы", "ibr-2"),
        ("Дубна", "nas-rk-visit-2023"),
        ("дубна", "nas-rk-visit-2023"),
        ("делегаций", "nas-rk-visit-2023"),
        ("нейтроны", "ibr-2"),
        # Kazakh, and Kazakh endings on words the Russian text has in another form.
        ("реакторлар", "ibr-2"),
        ("Дубнада", "nas-rk-visit-2023"),
        ("Алматыда", "cp-session-2023"),
        ("комитеті", "cp-session-2023"),
        ("нейтрондар", "ibr-2"),
    ],
)
async def test_a_translation_finds_its_item_in_any_form_of_its_words(
    index: search.SearchIndex, query: str, item: str
) -> None:
    results = await index.search(query, limit=50)
    assert not results.respelled
    assert item in found(results), found(results)


async def test_an_item_found_in_several_languages_is_one_hit(index: search.SearchIndex) -> None:
    # "IBR-2" is in its English name and in both translations; "реактор" in both translations.
    for query in ("IBR-2", "реактор", "Дубна"):
        results = await index.search(query, limit=50)
        assert found(results).count("ibr-2") == 1
        assert results.total == len(set(found(results)))


async def test_the_reader_gets_the_hit_in_their_language_where_it_is_translated(
    index: search.SearchIndex,
) -> None:
    for language, title, snippet in [
        ("ru", "Исследовательский реактор ИБР-2", f"Импульсный {marked('реактор')}"),
        ("kk", "ИБР-2 зерттеу реакторы", f"импульстік {marked('реакторы')}"),
        ("en", "IBR-2 Research Reactor", "IBR-2"),
    ]:
        results = await index.search("реактор", language=language)
        hit = next(hit for hit in results.hits if hit.item_id == "ibr-2")
        assert (hit.title, snippet in hit.snippet) == (title, True), hit
    # The event's Russian text has a description but no title: that falls back to English.
    results = await index.search("Алматы", language="ru", limit=50)
    hit = next(hit for hit in results.hits if hit.item_id == "cp-session-2023")
    assert hit.title.startswith("Session of the Committee of Plenipotentiaries")
    assert marked("Алматы") in hit.snippet
    # An item without a Russian translation is shown in English to a Russian reader.
    results = await index.search("Govorun", language="ru")
    assert results.hits[0].title == "Govorun Supercomputer"


async def test_english_searches_are_as_before(index: search.SearchIndex) -> None:
    terms = search_words.match_terms(search_words.words("reactors IBR-2 of Dubna"))
    assert terms == ["reactors", "IBR-2", "of", "Dubna"]
    if POSTGRESQL is None:
        expected = '"reactors"* AND "IBR-2"* AND "of" AND "Dubna"*'
        assert search_sqlite.match_expression(terms, operator="AND") == expected
    results = await index.search("reactors")
    assert "ibr-2" in found(results)


async def test_a_translation_changed_or_removed_changes_what_finds_its_item(
    index: search.SearchIndex, sessions: Sessions
) -> None:
    key = (Translation.kind == "facility") & (Translation.item_id == "ibr-2")
    async with sessions.begin() as session:
        await session.execute(
            update(Translation)
            .where(key & (Translation.language == "ru") & (Translation.field == "description"))
            .values(text="Импульсный реактор на быстрых нейтронах, модернизированный.")
        )
    assert "ibr-2" in found(await index.search("модернизированного"))
    assert "ibr-2" in found(await index.search("нейтронах"))
    async with sessions.begin() as session:
        await session.execute(delete(Translation).where(key))
    assert "ibr-2" not in found(await index.search("модернизированного"))
    assert "ibr-2" not in found(await index.search("реакторлар", limit=50))
    # The English row is untouched.
    assert "ibr-2" in found(await index.search("IBR-2"))


async def test_translations_follow_their_item_whenever_either_is_written(
    index: search.SearchIndex, sessions: Sessions
) -> None:
    # A translation that comes before its item is found once the item is there.
    await translate(sessions, "ru", {("fact", "winter-school"): {"title": "Зимняя школа"}})
    assert (await index.search("школы")).total == 0
    async with sessions.begin() as session:
        session.add(
            Fact(
                id="winter-school",
                topic="directions",
                title="A winter school",
                text="Added by a test.",
                source_id="jinr-2023-10-04-agreement-of-intent",
            )
        )
    assert found(await index.search("школы")) == ["winter-school"]
    # An edit of the item keeps its translations; a deleted item is found in no language.
    async with sessions.begin() as session:
        await session.execute(
            update(Fact).where(Fact.id == "winter-school").values(text="Edited by a test.")
        )
    assert found(await index.search("Зимней")) == ["winter-school"]
    async with sessions.begin() as session:
        await session.execute(
            update(Fact).where(Fact.id == "winter-school").values(deleted_at=Fact.updated_at)
        )
    assert (await index.search("школы")).total == 0


async def test_a_persons_roles_are_found_by_their_translations(
    index: search.SearchIndex, sessions: Sessions
) -> None:
    await translate(
        sessions, "ru", {("role", "serikkanov-2023-10"): {"role": "Вице-президент Академии наук"}}
    )
    results = await index.search("вице-президента", language="ru")
    assert "abay-serikkanov" in found(results)
    assert marked("Вице-президент") in results.hits[0].snippet


@pytest.mark.parametrize(
    "query",
    [
        '"Дубна',
        "реактор*",
        "NEAR(реактор ИБР)",
        "реактор OR",
        "-реакторы",
        "title_ru:реактор",
        "body_kk : Алматыда",
        "^Дубна",
        "'; DROP TABLE translations; --",
        'Дубна" OR "x',
    ],
)
async def test_query_syntax_in_cyrillic_is_harmless(
    index: search.SearchIndex, sessions: Sessions, query: str
) -> None:
    results = await index.search(query)
    assert results.total > 0
    async with sessions() as session:
        assert await session.scalar(select(Translation.item_id).limit(1)) is not None


async def test_a_misspelt_russian_word_finds_the_translation(index: search.SearchIndex) -> None:
    results = await index.search("риактор")
    assert results.respelled
    assert "ibr-2" in found(results)


@pytest.mark.sqlite
async def test_the_index_has_the_columns_search_ranks(sessions: Sessions) -> None:
    async with sessions() as session:
        columns = await session.execute(text("PRAGMA table_info(search_index)"))
        assert tuple(row[1] for row in columns) == search_sqlite.COLUMNS


@pytest.mark.parametrize(
    ("word", "stems"),
    [
        # Russian, by Snowball.
        ("реакторы", ("реактор",)),
        ("реактора", ("реактор",)),
        ("нейтронов", ("нейтрон",)),
        ("сотрудничестве", ("сотрудничеств",)),
        ("Дубна", ("дубн",)),
        ("Дубне", ("дубн",)),
        ("Казахстане", ("казахстан",)),
        ("Зимней", ("зимн",)),
        # A capitalised surname is kept whole: Snowball would make "Токаев" "тока".
        ("Токаев", ("токаев",)),
        ("Токаева", ("токаев",)),
        ("Трубников", ("трубников",)),
        # A hyphenated word, by its last part.
        ("вице-президента", ("вице-президент",)),
        # Kazakh endings, in the form the letter before them calls for.
        ("реакторлар", ("реактор",)),
        ("реакторларда", ("реактор",)),
        ("Дубнада", ("дубн",)),
        ("Дубнадағы", ("дубн",)),
        ("Алматыда", ("алмат",)),
        ("Қазақстанның", ("қазақстан",)),
        ("Қазақстан", ("қазақстан",)),
        ("университетінде", ("университет",)),
        ("ғылымдар", ("ғылым",)),
        # Not a Kazakh ending where its form does not fit: "компьютер" keeps its "-тер".
        ("компьютер", ("компьютер",)),
        # Yo is often written as a plain ye.
        ("учёные", ("учен", "учён")),
        # Too short to stem, or not Russian or Kazakh: searched as typed.
        ("ИЯФ", ()),
        ("год", ()),
        ("reactors", ()),
        ("IBR-2", ()),
        ("ИБР-2", ()),
        ("2023", ()),
    ],
)
def test_stems_of_russian_and_kazakh_words(word: str, stems: tuple[str, ...]) -> None:
    assert stemming.stems(word) == stems


@pytest.mark.parametrize(
    "word", ["года", "вода", "когда", "страны", "правда", "Сахиев", "токаев", "оияи", "ИБР"]
)
def test_no_stem_is_short_or_other_than_the_words_beginning(word: str) -> None:
    for stem in stemming.stems(word):
        assert len(stem) >= stemming.MIN_STEM_LENGTH
        assert word.lower().startswith(stem)


async def test_a_russian_reader_searching_in_russian_gets_russian_hits(running: Running) -> None:
    await translate(running.sessions, "ru", RUSSIAN)
    reply = await running.chat(language_code="ru").send("/search реакторы")
    # Found as written (not through close spellings), in the reader's language.
    assert reply.text.startswith("🔎 По запросу «реакторы» найдено")
    assert "Исследовательский реактор ИБР-2" in reply.text
    assert "Импульсный реактор на быстрых нейтронах в Дубне." in reply.text
    assert "🏛 Исследовательский реактор ИБР-2" in reply.button_labels
    # The same words from an English reader find the same item, shown in English.
    english = await running.chat(1002).send("/search реакторы")
    assert "🏛 IBR-2 Research Reactor" in english.button_labels


async def test_a_kazakh_reader_finds_an_event_by_a_kazakh_form(running: Running) -> None:
    # Only these Kazakh words, and no Russian ones, which name Almaty in many more items.
    await translate(running.sessions, "ru", {})
    await translate(running.sessions, "kk", KAZAKH)
    reply = await running.chat(language_code="kk").send("/search Алматыда")
    assert reply.text.startswith("🔎 «Алматыда» бойынша")
    assert "Өкілетті өкілдер комитетінің сессиясы" in reply.text
    assert "Алматыда өтті" in reply.text
    plain = await running.chat(1002, language_code="kk").send("Дубнадағы реакторлар")
    assert "ИБР-2 зерттеу реакторы" in plain.text
