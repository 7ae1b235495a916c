"""Calendar files: "📅 Add to calendar" on event cards, and /calendar, through the emulator.

Every file the bot sends is read back with vobject, a parser independent of icalendar, which
writes them. The clock starts at 2026-11-25 12:00 UTC; every event here is ahead of it.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import vobject

from bot.calendars.files import calendar_file
from bot.emulator import SentMessage
from bot.settings import Settings
from bot.texts import texts_for
from storage.knowledge import Knowledge
from storage.models import Event, Source, Translation
from tests.conftest import ADMIN, DEFAULT_NOW, UNPACED, Running, both_ways, curator
from tests.helpers import add_event

ALMATY = ZoneInfo("Asia/Almaty")
SOURCE_ID = "jinr-2023-10-04-agreement-of-intent"
SOURCE_URL = (
    "https://www.jinr.ru/posts/agreement-of-intent-signed-between-jinr-and-nas-of-republic-"
    "of-kazakhstan/"
)
ADD = "📅 Add to calendar"
# 10:00 in Almaty (UTC+5 since March 2024), ten days ahead of the test clock.
TEN_IN_ALMATY = datetime(2026, 12, 5, 10, 0, tzinfo=ALMATY)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, admin_ids=frozenset({ADMIN}), limits=UNPACED)


async def add(running: Running, event_id: str = "winter-school", **given: Any) -> None:
    """A winter school at the INP, at 10:00 in Almaty, unless ``given`` says otherwise."""
    school: dict[str, Any] = {
        "title": "Winter school on nuclear physics",
        "starts_at": TEN_IN_ALMATY,
    }
    await add_event(running, event_id=event_id, place="INP, Almaty", **school | given)


def parsed(message: SentMessage) -> Any:
    """The document a message carries, read by vobject: the VCALENDAR component."""
    assert message.document is not None, message.text
    return vobject.readOne(message.document.content.decode("utf-8"))


def events_of(calendar: Any) -> dict[str, Any]:
    """The calendar's VEVENTs by UID."""
    return {event.uid.value: event for event in calendar.contents.get("vevent", [])}


def in_files_zone(calendar: Any, moment: Any) -> datetime:
    """A DTSTART or DTEND as the file itself defines it: its wall time, in the file's own
    VTIMEZONE of its TZID. vobject keeps one zone per TZID for the whole process, the first it
    met or else pytz's, so the zone its parsed value carries may come from another file."""
    (tzid,) = moment.params["X-VOBJ-ORIGINAL-TZID"]
    (zone,) = [zone for zone in calendar.contents["vtimezone"] if zone.tzid.value == tzid]
    wall: datetime = moment.value
    return wall.replace(tzinfo=zone.gettzinfo())


def value(component: Any, name: str) -> Any:
    """A property's value, None if the component has none."""
    found = component.contents.get(name)
    return found[0].value if found else None


async def test_a_cards_button_sends_the_event_in_its_own_zone_with_a_stable_uid(
    running: Running,
) -> None:
    await add(running, ends_at=TEN_IN_ALMATY + timedelta(hours=8))
    chat = running.chat()
    card = await chat.send("/next")
    first = await chat.press(card, ADD)
    assert first.document is not None
    assert first.document.filename == "winter-school.ics"
    assert "Winter school on nuclear physics" in first.text
    calendar = parsed(first)
    (event,) = events_of(calendar).values()
    assert event.uid.value == "winter-school@coopbot"
    assert value(event, "sequence") == "0"
    assert value(event, "status") == "CONFIRMED"
    assert value(event, "summary") == "Winter school on nuclear physics"
    assert value(event, "location") == "INP, Almaty"
    assert value(event, "url") == SOURCE_URL
    # The description gives the source as cards do, and its address, which many calendars show
    # where they do not show the URL.
    description = value(event, "description")
    assert description.startswith("Lectures and practice at the INP.\n\n📎 Source: JINR")
    assert description.endswith(SOURCE_URL)
    # 10:00 in the event's own zone, defined in the file by a VTIMEZONE of that name.
    (zone,) = calendar.contents["vtimezone"]
    assert zone.tzid.value == "Asia/Almaty"
    start = in_files_zone(calendar, event.dtstart)
    assert (start.hour, start.minute) == (10, 0)
    assert start.utcoffset() == timedelta(hours=5)
    assert start == TEN_IN_ALMATY
    assert in_files_zone(calendar, event.dtend) == TEN_IN_ALMATY + timedelta(hours=8)

    again = await chat.press(card, ADD)
    assert list(events_of(parsed(again))) == ["winter-school@coopbot"]


async def test_the_sequence_rises_with_each_change_of_the_event(running: Running) -> None:
    await add(running)
    admin = curator(running)
    card = await admin.send("/next")
    before = events_of(parsed(await admin.press(card, ADD)))["winter-school@coopbot"]
    preview = await admin.send("/editevent winter-school place = Astana")
    await admin.press(preview, "✅ Confirm")
    after = events_of(parsed(await admin.press(card, ADD)))["winter-school@coopbot"]
    assert value(after, "location") == "Astana"
    assert int(value(after, "sequence")) > int(value(before, "sequence"))
    preview = await admin.send("/editevent winter-school title = Winter school 2026")
    await admin.press(preview, "✅ Confirm")
    latest = events_of(parsed(await admin.press(card, ADD)))["winter-school@coopbot"]
    assert int(value(latest, "sequence")) > int(value(after, "sequence"))


async def test_a_cancelled_events_file_says_cancelled_under_the_same_uid(
    running: Running,
) -> None:
    await add(running)
    admin = curator(running)
    card = await admin.send("/next")
    before = events_of(parsed(await admin.press(card, ADD)))["winter-school@coopbot"]
    preview = await admin.send("/cancelevent winter-school")
    await admin.press(preview, "✅ Confirm")
    # The card was shown before the cancellation; its button still tells the calendar.
    sent = await admin.press(card, ADD)
    assert "is cancelled" in sent.text
    cancelled = events_of(parsed(sent))["winter-school@coopbot"]
    assert value(cancelled, "status") == "CANCELLED"
    assert int(value(cancelled, "sequence")) > int(value(before, "sequence"))
    # /calendar carries it too, marked so, beside what is still on.
    await add(running, "spring-school", starts_at=TEN_IN_ALMATY + timedelta(days=3))
    everything = await admin.send("/calendar")
    found = events_of(parsed(everything))
    assert value(found["winter-school@coopbot"], "status") == "CANCELLED"
    assert value(found["spring-school@coopbot"], "status") == "CONFIRMED"
    assert "1 upcoming event" in everything.text
    assert "1 cancelled event" in everything.text


async def test_a_day_event_is_all_day_to_the_day_after_its_last(running: Running) -> None:
    first_day = datetime(2026, 12, 7, tzinfo=ALMATY)
    await add(running, precision="day", starts_at=first_day, ends_at=first_day + timedelta(2))
    sent = await running.chat().send("/calendar")
    calendar = parsed(sent)
    (event,) = events_of(calendar).values()
    assert event.dtstart.value == date(2026, 12, 7)
    assert event.dtstart.params.get("VALUE") == ["DATE"]
    # The last day is the 9th; DTEND, exclusive, is the day after it.
    assert event.dtend.value == date(2026, 12, 10)
    assert "vtimezone" not in calendar.contents


async def test_a_month_event_is_left_out_and_the_message_says_so(running: Running) -> None:
    await add(
        running,
        "month-session",
        title="Session of the Committee",
        precision="month",
        starts_at=datetime(2026, 12, 1, tzinfo=ALMATY),
    )
    await add(running, starts_at=TEN_IN_ALMATY + timedelta(days=30))
    chat = running.chat()
    # /next shows the month event first: its card has no button to add it.
    card = await chat.send("/next")
    assert "Session of the Committee" in card.text
    assert ADD not in card.button_labels
    sent = await chat.send("/calendar")
    assert list(events_of(parsed(sent))) == ["winter-school@coopbot"]
    assert "“Session of the Committee”: known only to the month, so it is not in the file" in (
        sent.text
    )
    # A press made up for it anyway is answered, not sent a file.
    press = running.emulator.press_data(chat.chat.id, chat.user, "ic:month-session")
    answer = await running.emulator.wait_for_callback_answer(press)
    assert answer.show_alert
    assert answer.text == (
        "“Session of the Committee” is known only to the month, not the day, so it cannot go "
        "in a calendar."
    )


async def test_many_month_events_keep_the_caption_within_telegrams_limit(
    running: Running,
) -> None:
    for number in range(8):
        await add(
            running,
            f"month-{number}",
            title="A long title of a session " * 4,
            precision="month",
            starts_at=datetime(2027, 1 + number, 1, tzinfo=ALMATY),
        )
    await add(running)
    sent = await running.chat().send("/calendar")
    assert len(sent.text) <= 1024
    # Five named, each cut at a word, then "…" for the other three.
    assert sent.text.count("“A long title of a session A long title of a session A long…”") == 5
    assert "; …: known only to the month, so they are not in the file" in sent.text


async def test_only_month_events_ahead_send_no_file_and_say_why(running: Running) -> None:
    await add(
        running,
        "month-session",
        title="Session of the Committee",
        precision="month",
        starts_at=datetime(2026, 12, 1, tzinfo=ALMATY),
    )
    answer = await running.chat().send("/calendar")
    assert answer.document is None
    assert answer.text.startswith("📅 No upcoming event can go in a calendar file.")
    assert "known only to the month" in answer.text


@both_ways
async def test_nothing_ahead_sends_no_file(running: Running) -> None:
    # The curated record's events are all over by the test clock.
    answer = await running.chat().send("/calendar")
    assert answer.document is None
    assert answer.text.startswith("📅 Nothing is scheduled at the moment")


async def test_the_events_page_sends_every_upcoming_event_in_one_file(running: Running) -> None:
    await add(running)
    await add(running, "spring-school", starts_at=TEN_IN_ALMATY + timedelta(days=3))
    chat = running.chat()
    page = await chat.send("/events")
    sent = await chat.press(page, "📅 All upcoming, to my calendar")
    assert set(events_of(parsed(sent))) == {"winter-school@coopbot", "spring-school@coopbot"}
    assert "2 upcoming events" in sent.text
    assert sent.document is not None
    assert sent.document.filename == "upcoming-events-2026-11-25.ics"
    past = await chat.press(page, "Past events ›")
    assert "📅 All upcoming, to my calendar" not in past.button_labels


async def test_an_event_opened_from_search_has_the_button(running: Running) -> None:
    await add(running, title="Winter school on cryogenics")
    chat = running.chat()
    results = await chat.send("/search cryogenics")
    card = await chat.press(results, "📅 Winter school on cryogenics")
    sent = await chat.press(card, ADD)
    assert list(events_of(parsed(sent))) == ["winter-school@coopbot"]


async def test_an_event_opened_from_the_timeline_has_the_button(running: Running) -> None:
    await add(running)
    chat = running.chat()
    year = await chat.send("/timeline 2026")
    card = await chat.press(year, "Winter school on nuclear physics")
    sent = await chat.press(card, ADD)
    assert list(events_of(parsed(sent))) == ["winter-school@coopbot"]


async def test_a_russian_reader_gets_the_file_and_its_caption_in_russian(
    running: Running,
) -> None:
    await add(running)
    async with running.sessions.begin() as session:
        session.add(
            Translation(
                kind="event",
                item_id="winter-school",
                field="title",
                language="ru",
                text="Зимняя школа по ядерной физике",
            )
        )
    chat = running.chat(language_code="ru")
    card = await chat.send("/next")
    sent = await chat.press(card, texts_for("ru")("button.add_to_calendar"))
    assert "Откройте файл" in sent.text
    assert "5 декабря 2026" in sent.text
    calendar = parsed(sent)
    assert value(calendar, "x-wr-calname") == "Сотрудничество ОИЯИ и Казахстана: мероприятия"
    (event,) = events_of(calendar).values()
    # The translated title, unmarked in a calendar; the untranslated place stays English.
    assert value(event, "summary") == "Зимняя школа по ядерной физике"
    assert value(event, "location") == "INP, Almaty"
    assert "📎 Источник: JINR, 4 октября 2023" in value(event, "description")
    everything = await chat.send("/calendar")
    assert everything.text.startswith("📅 1 предстоящее мероприятие в этом файле")


async def test_a_forged_or_unknown_event_gets_a_polite_alert(running: Running) -> None:
    chat = running.chat()
    for data in ("ic:no-such-event", "ic:", "ic:" + "x" * 61):
        press = running.emulator.press_data(chat.chat.id, chat.user, data)
        answer = await running.emulator.wait_for_callback_answer(press)
        assert answer.show_alert
        assert (
            answer.text == "This event is no longer on record, so there is no calendar file of it."
        )
    assert not [message for message in chat.messages if message.document is not None]


@pytest.mark.parametrize("language", ["en", "ru", "kk"])
def test_the_calendar_alerts_fit_telegrams_limit(language: str) -> None:
    t = texts_for(language)
    assert len(t("calendar.gone")) <= 200
    assert len(t("calendar.month_only", title="x" * 80)) <= 200


def _event(**values: Any) -> Event:
    """An event as the knowledge holds one, never changed."""
    defaults: dict[str, Any] = {
        "id": "talk",
        "title": "A talk",
        "description": "On neutrons; with questions, and answers.",
        "place": "Dubna",
        "zone": "Europe/Berlin",
        "precision": "minute",
        "starts_at": datetime(2026, 3, 29, 3, 30, tzinfo=ZoneInfo("Europe/Berlin")),
        "ends_at": None,
        "status": "scheduled",
        "source_id": "page",
        "version": 1,
        "updated_at": DEFAULT_NOW,
    }
    return Event(**(defaults | values))


def _known() -> Knowledge:
    source = Source(id="page", title="A page", publisher="JINR", url=None, published=None)
    return Knowledge(sources={"page": source})


def test_a_time_without_an_end_gets_no_made_up_end_and_the_zones_summer_offset() -> None:
    built = calendar_file(texts_for("en"), _known(), [_event()], now=DEFAULT_NOW)
    calendar = vobject.readOne(built.decode("utf-8"))
    (event,) = calendar.contents["vevent"]
    assert "dtend" not in event.contents
    assert "duration" not in event.contents
    # Berlin's clocks went forward at 02:00 that morning: 03:30 is summer time, UTC+2.
    start = in_files_zone(calendar, event.dtstart)
    assert start.utcoffset() == timedelta(hours=2)
    assert start.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert value(event, "description") == (
        "On neutrons; with questions, and answers.\n\n📎 Source: JINR — “A page”"
    )
    # A source known only by its file has no address to give.
    assert "url" not in event.contents
    assert value(event, "dtstamp") == DEFAULT_NOW


def test_the_same_event_is_written_the_same_way_each_time() -> None:
    event = _event(version=3)
    one = calendar_file(texts_for("en"), _known(), [event], now=DEFAULT_NOW)
    two = calendar_file(texts_for("en"), _known(), [event], now=DEFAULT_NOW)
    assert one == two
    parsed_event = vobject.readOne(one.decode("utf-8")).vevent
    assert value(parsed_event, "sequence") == "2"
    assert value(parsed_event, "uid") == "talk@coopbot"


def test_the_files_zone_carries_almatys_change_of_offset_in_march_2024() -> None:
    """Read through the file's own VTIMEZONE: 10:00 is UTC+6 before 1 March 2024, UTC+5 after."""
    before = _event(
        id="before", zone="Asia/Almaty", starts_at=datetime(2024, 2, 20, 10, 0, tzinfo=ALMATY)
    )
    after = _event(
        id="after", zone="Asia/Almaty", starts_at=datetime(2024, 3, 20, 10, 0, tzinfo=ALMATY)
    )
    built = calendar_file(texts_for("en"), _known(), [before, after], now=DEFAULT_NOW)
    calendar = vobject.readOne(built.decode("utf-8"))
    found = {
        uid: in_files_zone(calendar, event.dtstart) for uid, event in events_of(calendar).items()
    }
    assert found["before@coopbot"].utcoffset() == timedelta(hours=6)
    assert found["after@coopbot"].utcoffset() == timedelta(hours=5)
    assert {(start.hour, start.minute) for start in found.values()} == {(10, 0)}
