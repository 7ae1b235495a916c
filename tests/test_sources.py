"""Every answer names the source of each item it shows, links it, and never passes off the day a
page was cited as the day it was published."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta

from bot.emulator.values import SentMessage
from bot.settings import DEFAULT_CONTENT
from storage.models import Event, Fact, Source
from tests.conftest import Running

SEED_ID = "jinr-2023-10-04-agreement-of-intent"
SEED_URL = (
    "https://www.jinr.ru/posts/"
    "agreement-of-intent-signed-between-jinr-and-nas-of-republic-of-kazakhstan/"
)


def links(message: SentMessage) -> list[str]:
    """The addresses a message links to, as Telegram parsed them."""
    return [entity["url"] for entity in message.entities if "url" in entity]


async def add_source(running: Running, **fields: object) -> None:
    values: dict[str, object] = {
        "id": "kazinform-note",
        "title": "A second page",
        "publisher": "Kazinform",
        "url": "https://www.inform.kz/en/a-second-page",
        "origin": "admin",
    }
    values.update(fields)
    async with running.sessions.begin() as session:
        session.add(Source(**values))


def test_the_seed_article_has_its_address_in_content() -> None:
    with (DEFAULT_CONTENT / "sources.toml").open("rb") as file:
        sources = {source["id"]: source for source in tomllib.load(file)["sources"]}
    assert sources[SEED_ID]["url"] == SEED_URL


async def test_an_answer_links_its_source(running: Running) -> None:
    reply = await running.chat().send("/facts agreement")
    assert "📎 Source: JINR, 4 October 2023 — “Agreement of intent signed" in reply.text
    assert SEED_URL in links(reply)


async def test_items_from_several_sources_each_name_their_own(running: Running) -> None:
    await add_source(running, cited=date(2026, 11, 20))
    async with running.sessions.begin() as session:
        session.add(
            Fact(
                id="second-source-fact",
                topic="agreement",
                title="From another page",
                text="Said by the second page.",
                source_id="kazinform-note",
                origin="admin",
                position=99,
            )
        )

    reply = await running.chat().send("/facts agreement")

    assert "📎 Sources:\n[1] JINR, 4 October 2023" in reply.text
    assert "[2] Kazinform, cited on 20 November 2026 — “A second page”" in reply.text
    assert "Said by the second page. [2]" in reply.text
    # Every seed fact names the first source, and none the second.
    seed_facts = reply.text.split("From another page")[0]
    assert seed_facts.count(" [1]") >= 2
    assert "[2]" not in seed_facts
    assert set(links(reply)) == {SEED_URL, "https://www.inform.kz/en/a-second-page"}


async def test_a_page_known_by_its_address_only_shows_no_date_as_published(
    running: Running,
) -> None:
    await add_source(running, id="undated", title="An undated page", publisher="INP")
    await add_source(
        running, id="cited", title="A cited page", publisher="INP", cited=date(2026, 11, 1)
    )
    starts = running.clock.now() + timedelta(days=3)
    async with running.sessions.begin() as session:
        for number, source in enumerate(("undated", "cited")):
            session.add(
                Event(
                    id=f"event-{source}",
                    title=f"Event {number}",
                    description="Added by a test.",
                    place="Almaty",
                    zone="Asia/Almaty",
                    precision="day",
                    starts_at=starts + timedelta(days=number),
                    source_id=source,
                    origin="admin",
                )
            )

    reply = await running.chat().send("/events")

    assert "[1] INP — “An undated page”" in reply.text
    assert "[2] INP, cited on 1 November 2026 — “A cited page”" in reply.text
