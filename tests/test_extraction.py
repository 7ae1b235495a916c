"""What a fetched source page says (bot/curation/extraction.py): pages of tests/pages.py fetched
from the loopback server under a test host name, then read as a handler would, in a thread."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from bot.curation.extraction import SENTENCE_LIMIT, Extracted, extract, mentions
from bot.curation.fetching import fetch_page, fetch_session
from tests.pages import MapResolver, PageServer

HOST = "news.test"


async def read(pages: PageServer, path: str) -> Extracted | None:
    """The page at `path`, fetched from http://news.test:PORT and extracted off the loop."""
    async with fetch_session(
        allow_loopback=True, resolver=MapResolver({HOST: ["127.0.0.1"]})
    ) as session:
        page = await fetch_page(pages.url(path, host=HOST), session=session, allow_loopback=True)
    return await asyncio.to_thread(extract, page)


async def test_an_english_news_page_gives_its_title_date_language_site_and_text(
    pages: PageServer,
) -> None:
    extracted = await read(pages, "/english")
    assert extracted is not None
    assert extracted.title == "Almaty and JINR physicists start a new run"
    assert extracted.published == date(2024, 3, 12)
    assert extracted.language == "en"
    assert extracted.publisher == "Science Wire"
    assert "began a new run at the JINR cyclotron in Dubna this week" in extracted.text
    assert "light exotic nuclei" in extracted.text
    # The menu and the footer are not the article.
    assert "Contact" not in extracted.text
    assert "all rights reserved" not in extracted.text


async def test_the_english_pages_mentions_are_its_sentences_about_the_cooperation(
    pages: PageServer,
) -> None:
    extracted = await read(pages, "/english")
    assert extracted is not None
    assert mentions(extracted.text, ["DC-280"]) == [
        "Almaty and JINR physicists start a new run",
        "Physicists from the Institute of Nuclear Physics in Almaty began a new run at the JINR "
        "cyclotron in Dubna this week.",
        "Dr. Aigerim Sadykova from Kazakhstan leads the group at the DC-280 accelerator.",
    ]


async def test_a_russian_page_in_windows_1251_is_read_in_russian(pages: PageServer) -> None:
    extracted = await read(pages, "/russian")
    assert extracted is not None
    assert extracted.title == "Физики Казахстана и ОИЯИ обсудили планы"
    assert extracted.published == date(2023, 10, 2)
    assert extracted.language == "ru"
    assert "Сотрудничество ОИЯИ и Республики Казахстан продолжается" in extracted.text
    # No site name declared: the host stands for the publisher.
    assert extracted.publisher == HOST
    # "Казахстана" and "Казахстан" are both the cooperation's name, in two of its forms.
    assert mentions(extracted.text, []) == [
        "Физики Казахстана и ОИЯИ обсудили планы",
        "Сотрудничество ОИЯИ и Республики Казахстан продолжается более тридцати лет.",
        "Учёные из Алматы представили новые результаты измерений на циклотроне.",
    ]


async def test_a_utf_8_page_its_server_calls_iso_8859_1_is_still_read_right(
    pages: PageServer,
) -> None:
    extracted = await read(pages, "/mislabelled")
    assert extracted is not None
    assert extracted.title == "Физики Казахстана и ОИЯИ обсудили планы"
    assert "Республики Казахстан" in extracted.text


async def test_a_page_that_declares_no_date_or_language_gives_none_for_them(
    pages: PageServer,
) -> None:
    extracted = await read(pages, "/undated")
    assert extracted is not None
    assert "founded on 12 March 2019" in extracted.text
    assert extracted.title == "About the bulletin"
    assert extracted.published is None
    assert extracted.language is None
    assert extracted.publisher == HOST
    assert mentions(extracted.text, []) == [
        "Our editors work from Astana and meet every week to plan the next issue of the bulletin "
        "for its readers in the region and abroad."
    ]


async def test_a_page_with_no_text_gives_nothing(pages: PageServer) -> None:
    assert await read(pages, "/empty") is None


def test_mentions_match_whole_words_in_any_case() -> None:
    text = (
        "The INP team met. Its input was heard. The kazakh delegation came. "
        "Kazakhstani students wrote. Visitors from ALMATY arrived."
    )
    assert mentions(text, []) == [
        "The INP team met.",
        "The kazakh delegation came.",
        "Visitors from ALMATY arrived.",
    ]


def test_mentions_find_the_given_names_however_their_words_are_spaced() -> None:
    text = "Work at the DC-280   cyclotron began. Prof. Ivan Petrov spoke. Nobody else did."
    assert mentions(text, ["DC-280 cyclotron", "Ivan Petrov", "", "  "]) == [
        "Work at the DC-280 cyclotron began.",
        "Prof. Ivan Petrov spoke.",
    ]


def test_mentions_find_russian_and_kazakh_names_in_any_of_their_forms() -> None:
    text = (
        "Делегация Республики Казахстана прибыла. Встреча прошла в Астане. Погода была хорошей. "
        "Қазақстанның ғалымдары келді. Сахиева поздравили. Семинар прошёл в Алматинском филиале."
    )
    assert mentions(text, ["Сахиев"]) == [
        "Делегация Республики Казахстана прибыла.",
        "Встреча прошла в Астане.",
        "Қазақстанның ғалымдары келді.",
        "Сахиева поздравили.",
        "Семинар прошёл в Алматинском филиале.",
    ]


def test_mentions_come_in_text_order_each_once() -> None:
    text = "Astana hosted it.\nThen Almaty did. Astana hosted it.\nИЯФ провёл опыт. Учёные NAS RK."
    assert mentions(text, []) == [
        "Astana hosted it.",
        "Then Almaty did.",
        "ИЯФ провёл опыт.",
        "Учёные NAS RK.",
    ]


def test_a_long_sentence_is_cut_at_words_around_its_mention() -> None:
    before = " ".join(f"word{n}" for n in range(120))
    after = " ".join(f"more{n}" for n in range(120))
    sentence = f"{before} Kazakhstan {after}."
    (shown,) = mentions(sentence, [])
    assert "Kazakhstan" in shown
    assert len(shown) <= SENTENCE_LIMIT + 2
    assert shown.startswith("…")
    assert shown.endswith("…")
    # Cut between words: every word shown is a whole word of the sentence.
    assert set(shown.strip("…").split()) <= set(sentence.split())


@pytest.mark.parametrize("length", [SENTENCE_LIMIT - 20, SENTENCE_LIMIT])
def test_a_sentence_within_the_limit_is_shown_whole(length: int) -> None:
    sentence = "Kazakhstan " + "x" * (length - len("Kazakhstan ") - 1) + "."
    assert mentions(sentence, []) == [sentence]
