"""/addsource through the bot and the emulator, with web pages served on loopback: what a curator
sees of a page, what Confirm stores, a fact drafted from one of its sentences, and each refusal."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from sqlalchemy import select

from bot.settings import Settings
from bot.texts import texts_for
from storage.curation import ids
from storage.models import Fact, Source
from tests.conftest import ADMIN, OTHER_ADMIN, UNPACED, Running, both_ways, curator
from tests.pages import PageServer

T = texts_for("en")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Pages on loopback may be fetched here: the tests' page server is the only web."""
    return dataclasses.replace(
        settings,
        admin_ids=frozenset({ADMIN, OTHER_ADMIN}),
        limits=UNPACED,
        fetch_loopback=True,
    )


async def sources(running: Running) -> set[str]:
    async with running.sessions() as session:
        return await ids(session, "source")


async def stored(running: Running, source_id: str) -> Source:
    async with running.sessions() as session:
        found = await session.get(Source, source_id)
    assert found is not None
    return found


async def test_a_page_is_shown_as_read_and_stored_with_its_text_on_confirm(
    running: Running, pages: PageServer
) -> None:
    before = await sources(running)
    chat = curator(running)
    preview = await chat.send(f"/addsource {pages.url('/english')}")
    assert "Almaty and JINR physicists start a new run" in preview.text
    assert "Publisher: Science Wire · published: 12 March 2024 · language: en" in preview.text
    # The headline mentions Almaty too: it is the first of the sentences.
    assert "1. Almaty and JINR physicists start a new run" in preview.text
    assert "2. Physicists from the Institute of Nuclear Physics in Almaty" in preview.text
    assert "Dr. Aigerim Sadykova from Kazakhstan leads the group" in preview.text
    assert preview.button_labels[-2:] == ["✅ Store the source", "✖️ Cancel"]
    assert "✍ Fact from 1" in preview.button_labels
    assert await sources(running) == before, "nothing is stored before Confirm"

    done = await chat.press(preview, "✅ Store the source")
    (added,) = await sources(running) - before
    assert f"Stored as the source {added}" in done.text
    source = await stored(running, added)
    assert (source.url, source.language, source.published, source.cited) == (
        pages.url("/english"),
        "en",
        date(2024, 3, 12),
        running.clock.now().date(),
    )
    assert source.text is not None
    assert "light exotic nuclei" in source.text
    assert source.file == f"sources/{added}.txt"


async def test_the_same_address_however_written_is_not_added_twice(
    running: Running, pages: PageServer
) -> None:
    chat = curator(running)
    preview = await chat.send(f"/addsource {pages.url('/english')}")
    await chat.press(preview, "✅ Store the source")
    before = await sources(running)
    print(
        "KNOWN",
        [
            (s.id, s.url)
            for s in running.app.bot_data.knowledge.sources.values()
            if "127" in (s.url or "")
        ],
    )
    again = await chat.send(f"/addsource {pages.url('/english/')}?utm_source=mail#top")
    assert "on record already" in again.text
    assert await sources(running) == before


async def test_a_russian_page_and_an_undated_one_say_what_they_give(
    running: Running, pages: PageServer
) -> None:
    chat = curator(running)
    russian = await chat.send(f"/addsource {pages.url('/russian')}")
    assert "Физики Казахстана и ОИЯИ обсудили планы" in russian.text
    assert "published: 2 October 2023 · language: ru" in russian.text
    assert "Сотрудничество ОИЯИ и Республики Казахстан" in russian.text
    undated = await chat.send(f"/addsource {pages.url('/undated')}")
    assert "published: not given" in undated.text


async def test_a_fact_drafted_from_a_sentence_cites_the_page_it_came_from(
    running: Running, pages: PageServer
) -> None:
    before = await sources(running)
    chat = curator(running)
    preview = await chat.send(f"/addsource {pages.url('/english')}")
    drafted = await chat.press(preview, "✍ Fact from 2")
    (added,) = await sources(running) - before
    assert f"A fact from the source {added}" in drafted.text
    asked = await chat.next_message()
    assert "step 1 of 4" in asked.text
    title_asked = await chat.press(asked, asked.buttons[0][0].text)
    assert "Step 2 of 4" in title_asked.text
    fact_preview = await chat.send("A new run in Dubna")
    assert "Physicists from the Institute of Nuclear Physics in Almaty" in fact_preview.text
    done = await chat.press(fact_preview, T("drafts.confirm"))
    assert done.text.startswith("✅")
    async with running.sessions() as session:
        fact = await session.scalar(select(Fact).where(Fact.title == "A new run in Dubna"))
    assert fact is not None
    assert fact.source_id == added
    assert fact.text.startswith("Physicists from the Institute of Nuclear Physics in Almaty")


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/paper.pdf", "is not a web page"),
        ("/missing", "answered"),
        ("/hop/6", "redirects more than 5 times"),
        ("/empty", "could not find an article's text"),
    ],
)
async def test_a_page_that_cannot_be_added_is_explained_and_nothing_is_stored(
    running: Running, pages: PageServer, path: str, said: str
) -> None:
    before = await sources(running)
    reply = await curator(running).send(f"/addsource {pages.url(path)}")
    assert said in reply.text
    assert not reply.buttons
    assert await sources(running) == before


@both_ways
async def test_addresses_that_are_not_public_web_pages_are_refused(running: Running) -> None:
    chat = curator(running)
    assert "Only http and https" in (await chat.send("/addsource ftp://example.org/a")).text
    local = await chat.send("/addsource http://10.0.0.1/admin")
    assert "private or local address" in local.text
    assert "Write the page's address" in (await chat.send("/addsource")).text


async def test_loopback_is_refused_unless_the_setting_allows_it(
    running: Running, pages: PageServer
) -> None:
    running.app.bot_data.settings = dataclasses.replace(
        running.app.bot_data.settings, fetch_loopback=False
    )
    reply = await curator(running).send(f"/addsource {pages.url('/english')}")
    assert "private or local address" in reply.text
    assert pages.served.paths == [], "the page server was never asked"


async def test_someone_else_can_neither_add_nor_press(running: Running, pages: PageServer) -> None:
    before = await sources(running)
    stranger = running.chat(777, first_name="Stranger")
    assert "curators only" in (await stranger.send(f"/addsource {pages.url('/english')}")).text
    preview = await curator(running).send(f"/addsource {pages.url('/english')}")
    for label in ("✅ Store the source", "✍ Fact from 1"):
        refused = running.emulator.press_button(preview, label, stranger.user)
        answer = await running.emulator.wait_for_callback_answer(refused)
        assert answer.show_alert
        assert "curators only" in (answer.text or "")
    # Another curator, in their own chat, pressing the data of this one's buttons: no draft.
    other = curator(running, OTHER_ADMIN)
    await other.send("/help")
    for row in preview.buttons:
        data = row[0].callback_data
        assert data is not None
        stale = running.emulator.press_data(other.chat, other.user, data)
        answer = await running.emulator.wait_for_callback_answer(stale)
        assert answer.text == T("drafts.gone")
    assert await sources(running) == before
