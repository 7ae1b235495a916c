"""Each chat's language and zone: /language, /zone and the zone buttons of /settings, through
the emulator; and what the reader sees of times once a zone is chosen."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from bot.app import channel_preference
from bot.emulator import BotApiEmulator
from bot.reader.preferences import Preferences
from bot.telegram import sightings
from bot.texts import texts_for
from storage.bot_models import Chat
from tests.conftest import TEST_TOKEN, Running, both_ways, started
from tests.helpers import add_event, end_the_listening_connection
from tests.helpers import chat_row as stored_chat


async def chat_row(running: Running, chat_id: int) -> tuple[str | None, str | None]:
    """The chat's language and zone as stored."""
    row = await stored_chat(running, chat_id)
    return (row.language, row.zone) if row else (None, None)


async def test_a_russian_or_kazakh_telegram_is_answered_in_its_language(running: Running) -> None:
    russian = await running.chat(2001, first_name="Иван", language_code="ru").send("/start")
    assert russian.text.startswith("👋 Здравствуйте, Иван!")
    kazakh = await running.chat(2002, first_name="Айгерім", language_code="kk").send("/help")
    assert kazakh.text.startswith("Менің мүмкіндіктерім")
    assert "/zone" in kazakh.text


async def test_a_language_the_bot_lacks_gets_english_and_the_choice(running: Running) -> None:
    reply = await running.chat(2003, first_name="Hans", language_code="de").send("/start")
    assert reply.text.startswith("👋 Hello, Hans!")
    assert "choose with /language" in reply.text
    regional = await running.chat(2004, first_name="Olga", language_code="ru-RU").send("/start")
    assert regional.text.startswith("👋 Здравствуйте, Olga!")
    assert "/language" not in regional.text


async def test_language_is_chosen_with_buttons_and_kept_by_the_chat(running: Running) -> None:
    chat = running.chat(2005, language_code="en")
    shown = await chat.send("/language")
    assert shown.button_labels == ["✅ English", "Русский", "Қазақша"]
    chosen = await chat.press(shown, "Русский")
    assert chosen.text == "🌐 Теперь бот говорит в этом чате по-русски."
    assert await chat_row(running, 2005) == ("ru", None)
    # The sender's Telegram is still in English: the chat's choice wins.
    help_text = (await chat.send("/help")).text
    assert "/subscribe — напоминания" in help_text
    # The chat's own menu is in Russian now.
    menu = dict(running.emulator.commands({"type": "chat", "chat_id": 2005}))
    assert menu["language"] == texts_for("ru")("command.language")
    assert running.emulator.unanswered_callbacks() == []


@both_ways
async def test_a_chosen_language_is_read_back_at_the_next_start(running: Running) -> None:
    chat = running.chat(2006, language_code="en")
    await chat.press(await chat.send("/language"), "Қазақша")
    fresh = Preferences()
    await fresh.load(running.sessions)
    assert fresh.of(2006).language == "kk"


async def test_only_a_groups_admins_choose_its_language_and_zone(running: Running) -> None:
    admin = running.user(1, "Admin")
    member = running.user(2, "Member", language_code="ru")
    group = running.emulator.group(-100600, "Lab", admins=[admin.id])
    shown = await running.emulator.group_chat(group, admin).send("/language@coop_test_bot")
    tap = running.emulator.press_button(shown, "Русский", member)
    answer = await running.emulator.wait_for_callback_answer(tap)
    assert answer.text == texts_for("en")("preferences.admins_only")
    assert (await chat_row(running, group.id))[0] != "ru"

    refused = await running.emulator.group_chat(group, member).send(
        "/zone@coop_test_bot Europe/Berlin"
    )
    assert "Only this group's admins" in refused.text
    assert (await chat_row(running, group.id))[1] is None

    settings = await running.emulator.group_chat(group, admin).send("/settings@coop_test_bot")
    tap = running.emulator.press_button(settings, "Moscow · Dubna", member)
    answer = await running.emulator.wait_for_callback_answer(tap)
    assert "Only this group's admins" in (answer.text or "")
    assert (await chat_row(running, group.id))[1] is None

    chosen = await running.emulator.group_chat(group, admin).press(shown, "Русский")
    assert chosen.text.startswith("🌐 Теперь")
    assert (await chat_row(running, group.id))[0] == "ru"


async def test_a_forged_language_or_zone_button_changes_nothing(running: Running) -> None:
    chat = running.chat(2007)
    await chat.send("/language")
    for data in ("lg:de", "tz:mars", "sb:zone-mars"):
        tap = running.emulator.press_data(2007, 2007, data)
        await running.emulator.wait_for_callback_answer(tap)
    assert await chat_row(running, 2007) in (("en", None), (None, None))


async def test_a_zone_typed_or_pressed_shows_times_in_it_beside_the_events(
    running: Running,
) -> None:
    # 10:00 in Almaty (UTC+5) is 08:00 in Dubna and 06:00 in Berlin (winter).
    await add_event(
        running,
        event_id="seminar",
        starts_at=datetime(2026, 12, 10, 5, 0, tzinfo=UTC),
        precision="minute",
    )
    chat = running.chat(2008)
    assert "10 December 2026, 10:00 Almaty · 📍" in (await chat.send("/next")).text
    unknown = await chat.send("/zone Mars/Olympus")
    assert "“Mars/Olympus” is not a time zone I know" in unknown.text
    assert (await chat_row(running, 2008))[1] is None

    set_to = await chat.send("/zone europe/berlin")
    assert set_to.text.startswith("🕰 Times in this chat are now shown in Berlin (UTC+01:00)")
    assert "10 December 2026, 10:00 Almaty · 06:00 Berlin" in (await chat.send("/next")).text

    settings = await chat.send("/settings")
    assert "Times are shown in Berlin" in settings.text
    redrawn = await chat.press(settings, "Moscow · Dubna")
    assert "Times are shown in Dubna (UTC+03:00)" in redrawn.text
    assert "✅ Moscow · Dubna" in redrawn.button_labels
    assert await chat_row(running, 2008) == ("en", "Europe/Moscow")
    assert "10:00 Almaty · 08:00 Dubna" in (await chat.send("/next")).text


async def test_today_and_tomorrow_follow_the_readers_calendar(running: Running) -> None:
    # A day-long event on 2 December in Dubna. At 19:30 UTC on 1 December it is already
    # 2 December in Almaty, but still 1 December in Dubna.
    await add_event(
        running,
        event_id="open-day",
        starts_at=datetime(2026, 12, 1, 21, 0, tzinfo=UTC),
        zone="Europe/Moscow",
        precision="day",
    )
    running.clock.set(datetime(2026, 12, 1, 19, 30, tzinfo=UTC))
    almaty = running.chat(2009)
    assert (await almaty.send("/next")).text.startswith("⏳ Next: today")
    dubna = running.chat(2010)
    await dubna.send("/zone Europe/Moscow")
    assert (await dubna.send("/next")).text.startswith("⏳ Next: tomorrow")


async def test_the_digest_channel_reads_in_the_language_and_zone_the_config_gives(
    running: Running,
) -> None:
    digest = replace(
        running.settings.digest,
        channel_id=-1009,
        channel_language="kk",
        channel_zone=ZoneInfo("Europe/Moscow"),
    )
    running.app.bot_data.settings = replace(running.settings, digest=digest)
    await channel_preference(running.app.bot_data)
    assert await chat_row(running, -1009) == ("kk", "Europe/Moscow")
    assert running.app.bot_data.preferences.of(-1009).language == "kk"


@pytest.mark.postgresql
async def test_a_language_chosen_in_one_process_is_read_by_another(running: Running) -> None:
    """Two bots on one PostgreSQL database: the choice made through one is told to the other
    (storage/changes.py), which answers the chat in it from then on."""
    async with (
        BotApiEmulator(token=TEST_TOKEN) as elsewhere,
        started(elsewhere, running.settings, running.sessions, running.clock) as other,
    ):
        here, there = running.chat(), other.chat()
        english = (await there.send("/help")).text
        await here.press(await here.send("/language"), "Русский")
        russian = (await here.send("/help")).text
        assert russian != english
        # The notice reaches the other bot moments after the commit: each /help is a real
        # update it answers, in English until it has heard.
        answered = english
        async with asyncio.timeout(10.0):
            while answered == english:
                answered = (await there.send("/help")).text
        assert answered == russian


@pytest.mark.postgresql
async def test_choices_are_read_again_once_the_watch_listens_again(running: Running) -> None:
    """While the change watch was not listening, another process's notice may have gone
    unheard: once it listens again, every chat's choice is read from the database."""
    chat = running.chat(1001)
    english = (await chat.send("/help")).text
    await sightings.save(running.app.bot_data)  # the chat's row, written now, not in a second
    watch = running.app.bot_data.changes
    await end_the_listening_connection(running.settings.storage_url)
    await asyncio.wait_for(watch.listening_again.wait(), 10.0)
    # Written as by a process whose notice nobody heard: this tells no one.
    async with running.sessions.begin() as session:
        await session.execute(update(Chat).where(Chat.id == 1001).values(language="ru"))
    assert english != (russian := (await chat.send("/help")).text)
    assert "/subscribe — напоминания" in russian
