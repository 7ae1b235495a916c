"""The record as a newcomer reads it: the timeline year by year, the agreements, the people
with their roles over time, each answer with its sources, through the real bot and emulator."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.curation.loading import load_content
from bot.digest.words import summary
from bot.reader.dates import day_of
from bot.settings import DEFAULT_CONTENT
from bot.texts import texts_for
from storage.knowledge import Knowledge
from storage.models import Agreement, Person, Role
from tests.conftest import Running, both_ways

RECORD = load_content(DEFAULT_CONTENT)


def years_on_record() -> list[int]:
    """Every year with an event or an agreement, latest first, from the content itself."""
    found = {event["starts_at"].year for event in RECORD.events if event["status"] == "scheduled"}
    found |= {agreement["signed"].year for agreement in RECORD.agreements}
    return sorted(found, reverse=True)


def local_start(event: dict[str, object]) -> date:
    starts, zone = event["starts_at"], event["zone"]
    assert isinstance(starts, datetime)
    assert isinstance(zone, str)
    return starts.astimezone(ZoneInfo(zone)).date()


def titles_in(year: int) -> set[str]:
    """The lines of a year: its agreements, and its events but those that are the signing of
    an agreement (the same page, the same day)."""
    signed = {(a["source_id"], a["signed"]) for a in RECORD.agreements}
    events = {
        e["title"]
        for e in RECORD.events
        if e["status"] == "scheduled"
        and local_start(e).year == year
        and (e["source_id"], local_start(e)) not in signed
    }
    return events | {a["title"] for a in RECORD.agreements if a["signed"].year == year}


async def test_timeline_opens_on_the_latest_year_and_walks_back_year_by_year(
    running: Running,
) -> None:
    chat = running.chat()
    years = years_on_record()
    page = await chat.send("/timeline")
    assert f"year by year: {years[0]}" in page.text
    assert all(title[:40] in page.text for title in titles_in(years[0]))
    assert page.text.count("\n📅 ") + page.text.count("\n📜 ") == len(titles_in(years[0]))
    for year in years[1:]:
        page = await chat.press(page, "Next ›")
        assert f"year by year: {year}" in page.text
        assert all(title[:40] in page.text for title in titles_in(year))
    assert "Next ›" not in page.button_labels, "the oldest year is the last page"


async def test_a_timeline_line_opens_its_card_with_its_source_and_comes_back(
    running: Running,
) -> None:
    chat = running.chat()
    page = await chat.send(f"/timeline {years_on_record()[0]}")
    entry = page.buttons[0][0].text
    card = await chat.press(page, entry)
    assert "Source:" in card.text or "Sources:" in card.text
    back = await chat.press(card, "‹ Back to the year")
    assert back.text == page.text


async def test_timeline_lines_are_in_date_order_latest_first(running: Running) -> None:
    page = await running.chat().send(f"/timeline {years_on_record()[0]}")
    # "📅 2 October 2023 — …" / "📜 October 2023 — …": read the months back from the lines.
    names = "January February March April May June July August September October November"
    calendar = [*names.split(), "December"]
    months = [
        calendar.index(found) + 1
        for found in re.findall(r"^[📅📜] (?:\d{1,2} )?(\w+) \d{4} —", page.text, re.MULTILINE)
    ]
    assert months
    assert months == sorted(months, reverse=True)


@both_ways
async def test_a_year_with_nothing_on_record_says_which_years_have(running: Running) -> None:
    reply = await running.chat().send("/timeline 1950")
    assert "Nothing on record for 1950" in reply.text
    assert str(years_on_record()[0]) in reply.text
    reply = await running.chat().send("/timeline <b>soon</b>")
    assert "Nothing on record for <b>soon</b>" in reply.text, "typed text is shown as typed"


async def test_agreements_lists_each_with_its_parties_date_purpose_and_source(
    running: Running,
) -> None:
    reply = await running.chat().send("/agreements")
    assert reply.text.startswith("📜 Agreements")
    for agreement in RECORD.agreements:
        assert agreement["title"] in reply.text
        assert agreement["place"] in reply.text
        assert agreement["parties"].split(";")[0] in reply.text
    assert "Source" in reply.text


async def test_a_persons_card_lists_their_roles_oldest_first_each_as_of_its_date(
    running: Running,
) -> None:
    chat = running.chat()
    card = await chat.send("/who Сахиев")
    assert card.text.startswith("👤 Sayabek Sakhiyev")
    roles = sorted(
        (r for r in RECORD.roles if r["person_id"] == "sayabek-sakhiyev"),
        key=lambda role: role["as_of"],
    )
    assert len(roles) > 2
    dates = [day_of(r["as_of"], precision=r["as_of_precision"]) for r in roles]
    assert re.findall(r"as of ([^:]+):", card.text) == dates, "every role, oldest first"
    assert all(role["role"] in card.text for role in roles)
    assert "Took part in" in card.text
    assert "Visit of the NAS RK delegation to JINR" in card.text


@both_ways
async def test_people_pages_open_cards_and_come_back(running: Running) -> None:
    chat = running.chat()
    page = await chat.send("/people")
    assert f"({len(RECORD.people)} in all)" in page.text
    first = page.buttons[0][0].text
    card = await chat.press(page, first)
    assert card.text.startswith(f"👤 {first}")
    back = await chat.press(card, "‹ Back to the list")
    assert back.text == page.text


async def test_who_offers_a_choice_when_several_names_match_and_says_when_none_do(
    running: Running,
) -> None:
    chat = running.chat()
    several = await chat.send("/who sergey")
    sergeys = [p["name"] for p in RECORD.people if "sergey" in p["name"].lower()]
    assert len(sergeys) > 1
    assert several.button_labels == sergeys
    card = await chat.press(several, sergeys[0])
    assert card.text.startswith(f"👤 {sergeys[0]}")
    nobody = await chat.send("/who Nobody <i>at all</i>")
    assert "No one on record is called “Nobody <i>at all</i>”" in nobody.text
    assert "/who Sakhiev" in (await chat.send("/who")).text


def test_the_summary_tells_new_agreements_and_roles_too() -> None:
    now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    added = now - timedelta(days=2)
    person = Person(id="p", name="Sayabek Sakhiyev", side="kazakhstan", source_id="s")
    role = Role(
        id="r",
        person_id="p",
        role="General Director of RSE INP",
        organisation=None,
        as_of=date(2025, 11, 27),
        as_of_precision="day",
        source_id="s",
        created_at=added,
        updated_at=added,
    )
    signed = Agreement(
        id="a",
        title="A letter of intent",
        kind="letter of intent",
        signed=date(2025, 11, 27),
        signed_precision="day",
        place="Dubna",
        parties="JINR; RSE INP",
        purpose="An ultracold neutron source.",
        source_id="s",
        created_at=added,
        updated_at=added,
    )
    known = Knowledge(people=[person], roles=[role], agreements=[signed])
    text = summary(
        texts_for("en"),
        known,
        since=now - timedelta(days=7),
        until=now,
        now=now,
        zone=ZoneInfo("Asia/Almaty"),
    )
    assert text is not None
    assert "📜 <b>Agreements</b>\n• A letter of intent" in text
    assert "Sayabek Sakhiyev: General Director of RSE INP (as of 27 November 2025)" in text
    assert (
        summary(texts_for("en"), known, since=now, until=now, now=now, zone=ZoneInfo("UTC"))
        is None
    )


async def test_search_finds_an_agreement_and_opens_it_with_its_source(running: Running) -> None:
    chat = running.chat()
    memorandum = next(a for a in RECORD.agreements if a["kind"] == "memorandum")
    reply = await chat.send("/search memorandum National Laboratory Astana")
    label = next(label for label in reply.button_labels if label.startswith("📜"))
    card = await chat.press(reply, label)
    assert card.text.startswith(f"📜 {memorandum['title']}")
    assert memorandum["place"] in card.text
    assert "Source:" in card.text
