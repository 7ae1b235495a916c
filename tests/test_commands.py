"""Every public command and button, through the emulator over real HTTP with the real PTB stack."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete

from bot.curation.loading import load_content
from bot.settings import DEFAULT_CONTENT
from bot.telegram.menus import PUBLIC_COMMANDS
from bot.texts import texts_for
from storage.models import Facility, Fact
from tests.conftest import Running, both_ways
from tests.helpers import add_event

SOURCE_ID = "jinr-2023-10-04-agreement-of-intent"
SOURCE_TITLE = "Agreement of intent signed between JINR and NAS of Republic of Kazakhstan"


def latest_events(count: int) -> list[dict[str, str]]:
    """The events on record that started last, latest first (every one is in the past)."""
    records = load_content(DEFAULT_CONTENT)
    events = [event for event in records.events if event["status"] == "scheduled"]
    return sorted(events, key=lambda event: event["starts_at"], reverse=True)[:count]


def content(kind: str) -> list[dict[str, str]]:
    with (DEFAULT_CONTENT / f"{kind}.toml").open("rb") as file:
        items: list[dict[str, str]] = tomllib.load(file)[kind]
    return items


@both_ways
async def test_start_welcomes_by_name_and_lists_the_commands(running: Running) -> None:
    reply = await running.chat(first_name="Aigerim <3").send("/start")
    assert reply.text.startswith("👋 Hello, Aigerim <3!")
    for command in ("/about", "/delegation", "/facilities", "/facts", "/events", "/next"):
        assert command in reply.text


async def test_deep_link_opens_its_section(running: Running) -> None:
    chat = running.chat()
    assert "Who took part" in (await chat.send("/start delegation")).text
    assert "Facilities" in (await chat.send("/start facilities")).text
    assert "Hello" in (await chat.send("/start no-such-section")).text


async def test_help_lists_every_public_command_with_an_example(running: Running) -> None:
    reply = await running.chat().send("/help")
    for command in set(PUBLIC_COMMANDS) - {"help"}:
        assert f"/{command}" in reply.text
    assert "/search DIRAC" in reply.text


async def test_command_menu_is_published_on_start(running: Running) -> None:
    published = [command for command, _ in running.emulator.commands()]
    assert published == list(PUBLIC_COMMANDS)


async def test_menu_and_descriptions_are_published_in_each_language(running: Running) -> None:
    emulator = running.emulator
    english = texts_for("en")
    for language in ("ru", "kk"):
        t = texts_for(language)
        menu = dict(emulator.commands(language_code=language))
        assert list(menu) == list(PUBLIC_COMMANDS)
        assert menu["timeline"] == t("command.timeline") != english("command.timeline")
        shown = emulator.bot_text("description", language)
        assert shown == t("bot.description") != english("bot.description")
        assert emulator.bot_text("short_description", language) == t("bot.short_description")
    # Anyone else, whatever their language, reads the default: English.
    assert emulator.bot_text("description", "").startswith("The record of the scientific")


@both_ways
async def test_about_tells_the_cooperation_in_brief_each_fact_with_its_source(
    running: Running,
) -> None:
    reply = await running.chat().send("/about")
    assert reply.text.startswith("🤝 JINR and Kazakhstan")
    # Membership as each page words it: neither is taken for the other.
    assert "accession" in reply.text
    assert "30th anniversary of JINR–Kazakhstan cooperation" in reply.text
    assert "largest" in reply.text
    for agreement in content("agreements"):
        assert agreement["title"] in reply.text
    assert "[1]" in reply.text
    assert f"JINR, 4 October 2023 — “{SOURCE_TITLE}”" in reply.text


async def test_delegation_lists_both_sides_in_the_sources_order(running: Running) -> None:
    reply = await running.chat().send("/delegation")
    people = {person["id"]: person for person in content("people")}
    visit = next(event for event in content("events") if event["id"] == "nas-rk-visit-2023")
    at_the_visit = [people[part.strip()] for part in visit["people"].split(";")]
    kazakh = [p["name"] for p in at_the_visit if p["side"] == "kazakhstan"]
    jinr = [p["name"] for p in at_the_visit if p["side"] == "jinr"]
    assert len(kazakh) == 6
    assert len(jinr) == 5
    positions = [reply.text.index(name) for name in kazakh + jinr]
    assert positions == sorted(positions)
    assert reply.text.index("From Kazakhstan") < reply.text.index(kazakh[0])
    assert reply.text.index(kazakh[-1]) < reply.text.index("From JINR") < positions[6]
    # Roles read as titles, each saying of what.
    assert "Sayabek Sakhiyev — Plenipotentiary Representative of the Government" in reply.text
    assert "Abay Serikkanov — Vice-President of NAS RK" in reply.text
    assert " — a " not in reply.text
    assert "Source: JINR, 4 October 2023" in reply.text


@both_ways
async def test_facilities_pages_open_cards_and_come_back(running: Running) -> None:
    chat = running.chat()
    names = [facility["name"] for facility in content("facilities")]
    pages = -(-len(names) // 5)
    assert pages > 2
    first = await chat.send("/facilities")
    assert f"page 1 of {pages}" in first.text
    assert first.button_labels == [*map(button_text, names[:5]), "Next ›"]

    second = await chat.press(first, "Next ›")
    assert second.message_id == first.message_id
    assert f"page 2 of {pages}" in second.text
    assert second.button_labels == [*map(button_text, names[5:10]), "‹ Previous", "Next ›"]

    card = await chat.press(second, "Govorun Supercomputer")
    assert card.text.startswith("🏛 Govorun Supercomputer")
    assert "among the objects of the NAS RK delegation's visit" in card.text
    assert "Source: JINR, 4 October 2023" in card.text

    back = await chat.press(card, "‹ Back to the list")
    assert f"page 2 of {pages}" in back.text
    assert running.emulator.unanswered_callbacks() == []


async def test_a_facility_removed_meanwhile_is_explained(running: Running) -> None:
    user = running.user()
    page = await running.emulator.private_chat(user).send("/facilities")
    async with running.sessions.begin() as session:
        await session.execute(delete(Facility).where(Facility.name == "Booster accelerator"))
    update_id = running.emulator.press_button(page, "Booster accelerator", user)
    answer = await running.emulator.wait_for_callback_answer(update_id)
    assert answer.text == "That facility is no longer on record."
    refreshed = await running.emulator.wait_for_message(page.chat_id)
    assert "Booster accelerator" not in refreshed.button_labels


def button_text(name: str) -> str:
    """A name as a button shows it: the one too long for a button is cut at a word."""
    long = "Assembly shop of the Baikal-GVD Neutrino Telescope"
    return "Assembly shop of the Baikal-GVD Neutrino…" if name == long else name


async def test_facts_offers_topics_and_pages_through_one(running: Running) -> None:
    chat = running.chat()
    topics = await chat.send("/facts")
    assert "Facts by topic" in topics.text
    assert "/facts directions" in topics.text
    # Counts read as words do, one fact or several.
    assert "Distributed computing</b> — 1 fact —" in topics.html
    assert "Directions of cooperation</b> — 5 facts —" in topics.html
    assert "All facts" in topics.button_labels

    label = next(label for label in topics.button_labels if label.startswith("Directions"))
    page = await chat.press(topics, label)
    assert page.text.startswith("📌 Directions of cooperation\n")
    assert "nuclear medicine" in page.text

    back = await chat.press(page, "☰ Topics")
    assert "Facts by topic" in back.text


async def test_facts_with_a_topic_argument_and_paging_through_all(running: Running) -> None:
    chat = running.chat()
    direct = await chat.send("/facts computing")
    assert "Distributed computing" in direct.text
    assert "DIRAC" in direct.text

    every = await chat.press(await chat.send("/facts"), "All facts")
    total_pages = -(-len(content("facts")) // 5)
    assert f"All facts — page 1 of {total_pages}" in every.text
    following = await chat.press(every, "Next ›")
    assert f"page 2 of {total_pages}" in following.text
    assert "‹ Previous" in following.button_labels


@both_ways
async def test_unknown_topic_names_it_and_lists_the_real_ones(running: Running) -> None:
    reply = await running.chat().send("/facts <weather>")
    assert reply.text.startswith("There is no topic “<weather>”")
    assert "/facts agreement" in reply.text


@both_ways
async def test_events_shows_upcoming_first_then_past_latest_first(running: Running) -> None:
    chat = running.chat()
    upcoming = await chat.send("/events")
    assert "Nothing is scheduled" in upcoming.text

    past = await chat.press(upcoming, "Past events ›")
    assert "Past events" in past.text
    latest, before = latest_events(2)
    assert past.text.index(latest["title"]) < past.text.index(before["title"])

    again = await chat.press(past, "‹ Upcoming events")
    assert "Nothing is scheduled" in again.text


async def test_events_lists_a_future_event_as_upcoming(running: Running) -> None:
    await add_event(
        running, starts_at=running.clock.now() + timedelta(days=3), title="A test event"
    )
    reply = await running.chat().send("/events")
    assert "Upcoming events" in reply.text
    assert "A test event" in reply.text


async def test_next_says_nothing_scheduled_and_shows_the_latest_event(running: Running) -> None:
    reply = await running.chat().send("/next")
    assert "Nothing is scheduled" in reply.text
    latest, before = latest_events(2)
    assert latest["title"] in reply.text
    assert before["title"] not in reply.text


async def test_next_counts_down_to_a_timed_event(running: Running) -> None:
    starts = datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("Asia/Almaty"))
    await add_event(running, starts_at=starts)
    running.clock.set(starts - timedelta(days=6, hours=4, minutes=10))
    reply = await running.chat().send("/next")
    assert "Next: in 6 days and 4 hours" in reply.text
    assert "1 December 2026, 10:00 Almaty" in reply.text

    running.clock.set(starts - timedelta(minutes=5))
    assert "Next: in 5 minutes" in (await running.chat(1002).send("/next")).text


async def test_next_never_invents_a_day_for_a_month_event(running: Running) -> None:
    starts = datetime(2027, 3, 1, tzinfo=ZoneInfo("Asia/Almaty")).astimezone(UTC)
    await add_event(running, starts_at=starts, precision="month")
    reply = await running.chat().send("/next")
    assert "its month begins in" in reply.text
    assert "March 2027" in reply.text
    assert "1 March" not in reply.text


async def test_search_finds_best_first_and_pages(running: Running) -> None:
    chat = running.chat()
    reply = await chat.send("/search Sakhiyev")
    assert reply.text.splitlines()[2].startswith("👤 Sayabek Sakhiyev")

    broad = await chat.send("/search JINR")
    assert "page 1 of" in broad.text
    following = await chat.press(broad, "Next ›")
    assert "page 2 of" in following.text
    assert "“JINR”" in following.text


async def test_each_search_hit_names_its_source_and_opens_with_it(running: Running) -> None:
    chat = running.chat()
    reply = await chat.send("/search IBR-2")
    assert "“IBR-2”" in reply.text.splitlines()[0]
    # Several hits from several pages: each names its source by number in the footer.
    assert "[1]" in reply.text
    assert "Sources:" in reply.text
    assert "JINR, 4 October 2023" in reply.text
    assert "🏛 IBR-2 Research Reactor" in reply.button_labels
    card = await chat.press(reply, "🏛 IBR-2 Research Reactor")
    assert card.message_id == reply.message_id
    assert "got acquainted with the IBR-2 Research Reactor" in card.text
    assert "📎 Source: JINR, 4 October 2023" in card.text
    back = await chat.press(card, "‹ Back to the results")
    assert "“IBR-2”" in back.text
    assert "🏛 IBR-2 Research Reactor" in back.button_labels


async def test_a_search_in_another_spelling_says_so_and_finds_the_name(running: Running) -> None:
    reply = await running.chat().send("/search Сахиев")
    assert "👤 Sayabek Sakhiyev" in reply.text
    # The record's Russian translations say «Дубна»: found as written, no respelling.
    reply = await running.chat(1002).send("/search Дубна")
    assert "found for “Дубна”" in reply.text.split("\n")[0]
    assert "Dubna" in reply.text


async def test_a_forged_or_stale_hit_button_opens_nothing(running: Running) -> None:
    chat = running.chat()
    await chat.send("/search Govorun")
    for data in ("sh:c:no-such-item:0:abc", "sh:x:govorun-supercomputer:0:abc"):
        press = running.emulator.press_data(chat.chat, chat.user, data)
        answer = await running.emulator.wait_for_callback_answer(press)
        assert answer.text == "This item is no longer in the record. Please search again."
        assert answer.show_alert


@both_ways
async def test_search_without_words_explains_itself(running: Running) -> None:
    reply = await running.chat().send("/search")
    assert "Tell me what to look for" in reply.text


async def test_search_for_nothing_known_says_so_and_escapes_the_query(running: Running) -> None:
    reply = await running.chat().send("/search <b>zzzqqq</b> & co")
    assert reply.text.startswith("🔎 Nothing found for “<b>zzzqqq</b> & co”")
    assert "Search in English, Russian or Kazakh" in reply.text


async def test_plain_text_in_a_private_chat_is_a_search(running: Running) -> None:
    reply = await running.chat().send("Govorun")
    assert "Govorun Supercomputer" in reply.text


async def test_commands_work_in_a_group_addressed_to_the_bot(running: Running) -> None:
    user = running.user()
    group = running.emulator.group(-100123, "JINR fans")
    chat = running.emulator.group_chat(group, user)
    reply = await chat.send("/delegation@coop_test_bot")
    assert "Kunsulu Zakarya" in reply.text


async def test_unknown_command_suggests_the_closest(running: Running) -> None:
    chat = running.chat()
    assert "Did you mean /delegation?" in (await chat.send("/delegatoin")).text
    vague = await chat.send("/xyzzy")
    assert "I don't know the command /xyzzy" in vague.text
    assert "Did you mean" not in vague.text


async def test_a_long_answer_is_split_into_valid_messages(running: Running) -> None:
    long_text = " ".join(["Kazakhstan & JINR <cooperate>."] * 400)
    async with running.sessions.begin() as session:
        session.add(
            Fact(
                id="long",
                topic="computing",
                title="A very long fact",
                text=long_text,
                source_id=SOURCE_ID,
                position=99,
            )
        )
    chat = running.chat()
    messages = [await chat.send("/facts computing")]
    while not messages[-1].button_labels:
        messages.append(await chat.next_message())
    assert len(messages) >= 3
    assert all(len(message.html) <= 4096 for message in messages)
    assert messages[0].text.startswith("📌 Distributed computing")
    joined = " ".join(message.text for message in messages)
    assert joined.count("Kazakhstan & JINR <cooperate>.") == 400
    assert messages[-1].button_labels == ["☰ Topics"]
