"""/addevent, /editevent, /cancelevent through the emulator, and what they do to the digests.

The clock starts at 2026-11-25 12:00 UTC (17:00 in Almaty); digest ticks are driven by hand on
it, as in tests/test_digests.py, with sending limits the pacing never waits for.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.curation.loading import load_content
from bot.curation.moments import SKIPPED, UNKNOWN_ZONE, UNPARSABLE, MomentError, parse, written
from bot.emulator import SentMessage
from bot.settings import DEFAULT_CONTENT, Settings
from bot.texts import texts_for
from storage.bot_models import Digest
from storage.models import Change, Event
from tests.conftest import ADMIN, DEFAULT_NOW, OTHER_ADMIN, UNPACED, Running, both_ways, curator
from tests.helpers import changes, first_lines, subscribe, tick_at

SOURCE = "jinr-2023-10-04-agreement-of-intent"
ALMATY = ZoneInfo("Asia/Almaty")
# Ten days ahead of the clock: 2026-12-05 17:00 in Almaty.
START = DEFAULT_NOW + timedelta(days=10)
ADD = (
    "/addevent winter-school | Winter school <b>on</b> physics | 2026-12-05 17:00 Asia/Almaty"
    f" | INP, Almaty | {SOURCE} | Lectures & practice, <i>open</i> to all."
)
SUBSCRIBER = 1001
CANCELLED_NOTICE = "❌ Cancelled: this event will not take place."
ON_AGAIN = "✅ On again: this event takes place after all; reminders go out as before."


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings,
        admin_ids=frozenset({ADMIN, OTHER_ADMIN}),
        limits=UNPACED,
    )


async def stored(running: Running, event_id: str = "winter-school") -> Event | None:
    async with running.sessions() as session:
        return await session.get(Event, event_id)


async def added(running: Running, line: str = ADD) -> SentMessage:
    """An admin adds an event and confirms it."""
    admin = curator(running)
    preview = await admin.send(line)
    return await admin.press(preview, "✅ Confirm")


# Moments


@pytest.mark.parametrize(
    ("admin_form", "content_form", "zone"),
    [
        ("2026-12-01 10:00 Asia/Almaty", "2026-12-01T10:00", "Asia/Almaty"),
        ("2026-12-01 Europe/Moscow", "2026-12-01", "Europe/Moscow"),
        ("2026-12 UTC", "2026-12", "UTC"),
        # Clocks go back: the first of the two 02:30s, as a content sync takes it.
        ("2026-10-25 02:30 Europe/Berlin", "2026-10-25T02:30", "Europe/Berlin"),
    ],
)
def test_an_admins_moment_is_stored_as_content_would_store_it(
    tmp_path: Path, admin_form: str, content_form: str, zone: str
) -> None:
    folder = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT, folder)
    with (folder / "events.toml").open("a", encoding="utf-8") as file:
        file.write(
            f'\n[[events]]\nid = "probe"\ntitle = "T"\ndescription = "D"\nplace = "P"\n'
            f'zone = "{zone}"\nstarts = "{content_form}"\nsource = "{SOURCE}"\n'
        )
    record = next(r for r in load_content(folder).events if r["id"] == "probe")
    moment = parse(admin_form, default_zone=ALMATY)
    assert (moment.at, moment.precision, moment.zone.key) == (
        record["starts_at"],
        record["precision"],
        zone,
    )
    assert written(moment.at, precision=moment.precision, zone=zone) == admin_form


def test_a_moment_without_a_zone_takes_the_default_one() -> None:
    moment = parse("2026-12-01 10:00", default_zone=ALMATY)
    assert (moment.at, moment.zone_given) == (datetime(2026, 12, 1, 5, 0, tzinfo=UTC), False)
    assert parse("2026-10-25 02:30 Europe/Berlin", default_zone=ALMATY).twice


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("next friday", UNPARSABLE),
        ("2026-02-30", UNPARSABLE),
        ("2026-12-01 25:00", UNPARSABLE),
        ("2026-12 10:00 UTC", UNPARSABLE),
        ("2026-12-01 10:00 Asia/Almati", UNKNOWN_ZONE),
        ("2026-03-29 02:30 Europe/Berlin", SKIPPED),
    ],
)
def test_a_bad_moment_says_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(MomentError) as raised:
        parse(text, default_zone=ALMATY)
    assert raised.value.problem == problem
    if problem == UNKNOWN_ZONE:
        assert "Asia/Almaty" in raised.value.suggestions


# /addevent


async def test_an_added_event_is_previewed_as_users_see_it_then_saved(running: Running) -> None:
    admin = curator(running)
    preview = await admin.send(ADD)
    assert "Winter school <b>on</b> physics" in preview.text, "admin HTML is shown literally"
    assert "5 December 2026, 17:00 Almaty" in preview.text
    assert "Lectures & practice, <i>open</i> to all." in preview.text
    assert "Zone: Asia/Almaty." in preview.text
    assert preview.button_labels == ["✅ Confirm", "✖️ Cancel"]
    assert await changes(running) == 0

    done = await admin.press(preview, "✅ Confirm")
    assert "Event winter-school added" in done.text
    assert not done.buttons
    event = await stored(running)
    assert event is not None
    assert (event.title, event.starts_at, event.precision, event.zone, event.origin) == (
        "Winter school <b>on</b> physics",
        START,
        "minute",
        "Asia/Almaty",
        "admin",
    )
    assert (event.ends_at, event.status, event.source_id) == (None, "scheduled", SOURCE)
    assert await changes(running) == 1
    listed = await running.chat(555).send("/events")
    assert "Winter school <b>on</b> physics" in listed.text


async def test_an_end_with_a_time_of_day_is_shown_wherever_the_event_is(running: Running) -> None:
    """Preview, /events, /next and a reminder all show when a multi-day school ends."""
    shown = "5 December 2026, 17:00 – 9 December 2026, 18:00 Almaty"
    await subscribe(running, SUBSCRIBER)
    admin = curator(running)
    preview = await admin.send(f"{ADD} | 2026-12-09 18:00")
    assert shown in preview.text
    await admin.press(preview, "✅ Confirm")
    reader = running.chat(555)
    assert shown in (await reader.send("/events")).text
    assert shown in (await reader.send("/next")).text
    await tick_at(running, START - timedelta(days=7))
    assert any(shown in message.text for message in running.emulator.history(SUBSCRIBER))


@both_ways
async def test_an_event_with_an_end_and_no_zone_uses_the_bots_zone(running: Running) -> None:
    line = f"/addevent spring-days | Spring days | 2027-03 | Dubna | {SOURCE} | Talks. | 2027-04"
    admin = curator(running)
    preview = await admin.send(line)
    assert "March 2027 – April 2027" in preview.text
    assert "Zone: Asia/Almaty, the bot's own" in preview.text
    await admin.press(preview, "✅ Confirm")
    event = await stored(running, "spring-days")
    assert event is not None
    assert (event.precision, event.starts_at, event.ends_at) == (
        "month",
        datetime(2027, 3, 1, tzinfo=ALMATY),
        datetime(2027, 4, 1, tzinfo=ALMATY),
    )


async def test_cancel_drops_the_draft_and_writes_nothing(running: Running) -> None:
    admin = curator(running)
    preview = await admin.send(ADD)
    dropped = await admin.press(preview, "✖️ Cancel")
    assert "nothing was changed" in dropped.text
    assert not dropped.buttons
    assert await changes(running) == 0
    assert await stored(running) is None


async def test_a_start_that_passes_while_the_preview_waits_is_not_saved(running: Running) -> None:
    admin = curator(running)
    soon = ADD.replace("2026-12-05 17:00", "2026-11-25 18:00")  # 13:00 UTC, an hour ahead
    preview = await admin.send(soon)
    assert "✅ Confirm" in preview.button_labels
    running.clock.set(DEFAULT_NOW + timedelta(hours=1, minutes=1))
    answer = await admin.press(preview, "✅ Confirm")
    assert "has passed while it waited" in answer.text
    assert await changes(running) == 0


async def test_a_draft_forgotten_by_a_restart_saves_nothing(running: Running) -> None:
    admin = curator(running)
    preview = await admin.send(ADD)
    running.app.user_data[ADMIN].drafts.clear()
    answer = await admin.press_for_answer(preview, "✅ Confirm")
    assert answer.show_alert
    assert answer.text == texts_for("en")("drafts.gone")
    assert await changes(running) == 0


def _add(
    start: str = "2026-12-05 17:00 Asia/Almaty", *, event_id: str = "new-event", **parts: str
) -> str:
    values = {"title": "Title", "place": "Almaty", "source": SOURCE, "description": "Text."}
    values.update(parts)
    line = (
        f"/addevent {event_id} | {values['title']} | {start} | {values['place']} | "
        f"{values['source']} | {values['description']}"
    )
    return line + (f" | {parts['end']}" if "end" in parts else "")


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("/addevent", "this has 1"),
        ("/addevent a | b | c", "this has 3"),
        (_add() + " | 2026-12-06 | extra", "this has 8"),
        (_add(event_id="Bad_Id"), "not a valid id"),
        (_add(event_id="nas-rk-visit-2023"), "already an event"),
        (_add("2026-11-20 10:00 Asia/Almaty"), "is in the past"),
        (_add("2026-10"), "for example 2027-01-04 10:00 Asia/Almaty"),
        (_add("2026-12-05 17:00 Asia/Almati"), "Close names: Asia/Almaty"),
        (_add("next friday"), "not a date I can read"),
        (_add("2026-12-32"), "not a date I can read"),
        (_add("2027-03-28 02:30 Europe/Berlin"), "the clocks skip that hour"),
        (_add(end="2026-12-05 16:00"), "is before the start"),
        (_add(end="2026-12-06"), "given to the day but the start to the minute"),
        (_add(end="2026-12-06 10:00 Europe/Moscow"), "The end is in Europe/Moscow"),
        (_add(title="x" * 201), "201 characters long; keep it to at most 200"),
        (_add(description="y" * 2001), "at most 2000"),
        (_add(place=" "), "The place is empty"),
        (_add(source="nope"), SOURCE),
    ],
)
async def test_bad_input_to_addevent_is_explained_and_writes_nothing(
    running: Running, line: str, says: str
) -> None:
    answer = await curator(running).send(line)
    assert says in answer.text
    assert "Nothing was saved" in answer.text
    assert not answer.buttons
    assert await changes(running) == 0


# /editevent


async def test_editevent_shows_the_fields_then_previews_and_saves_a_change(
    running: Running,
) -> None:
    await added(running)
    admin = curator(running)
    fields = await admin.send("/editevent winter-school")
    assert "start: 2026-12-05 17:00 Asia/Almaty" in fields.text
    assert "title: Winter school <b>on</b> physics" in fields.text
    assert "/editevent winter-school field = value" in fields.text

    preview = await admin.send("/editevent winter-school place = Dubna & <Almaty>")
    now, after = preview.text.split("After:")
    assert "📍 INP, Almaty" in now
    assert "📍 Dubna & <Almaty>" in after
    assert await changes(running) == 1
    done = await admin.press(preview, "✅ Confirm")
    assert "Event winter-school changed" in done.text
    event = await stored(running)
    assert event is not None
    assert (event.place, event.version) == ("Dubna & <Almaty>", 2)
    assert await changes(running) == 2


async def test_an_end_can_be_set_and_removed(running: Running) -> None:
    await added(running)
    admin = curator(running)
    preview = await admin.send("/editevent winter-school end = 2026-12-06 18:00")
    await admin.press(preview, "✅ Confirm")
    event = await stored(running)
    assert event is not None
    assert event.ends_at == datetime(2026, 12, 6, 18, 0, tzinfo=ALMATY)
    preview = await admin.send("/editevent winter-school end = -")
    await admin.press(preview, "✅ Confirm")
    event = await stored(running)
    assert event is not None
    assert event.ends_at is None


async def test_a_new_zone_keeps_the_ends_local_time_and_a_precision_change_needs_no_end(
    running: Running,
) -> None:
    await added(running, _add(event_id="talks", end="2026-12-06 18:00"))
    admin = curator(running)
    preview = await admin.send("/editevent talks start = 2026-12-05 10:00 Europe/Moscow")
    assert "Zone: Europe/Moscow." in preview.text
    await admin.press(preview, "✅ Confirm")
    event = await stored(running, "talks")
    assert event is not None
    moscow = ZoneInfo("Europe/Moscow")
    assert (event.zone, event.starts_at, event.ends_at) == (
        "Europe/Moscow",
        datetime(2026, 12, 5, 10, 0, tzinfo=moscow),
        datetime(2026, 12, 6, 18, 0, tzinfo=moscow),
    )
    refused = await admin.send("/editevent talks start = 2026-12-07")
    assert "first remove the end with /editevent talks end = -" in refused.text
    assert await changes(running) == 2


async def test_a_time_the_clocks_pass_twice_is_taken_at_its_first_and_said_so(
    running: Running,
) -> None:
    line = _add("2027-10-31 02:30 Europe/Berlin", event_id="night-shift")
    preview = await curator(running).send(line)
    assert "2027-10-31 02:30 Europe/Berlin happens twice there" in preview.text
    assert "the first is meant, 2027-10-31 00:30 UTC" in preview.text


async def test_someone_else_cannot_add_an_event(running: Running) -> None:
    answer = await running.chat(777, first_name="Stranger").send(ADD)
    assert "curators only" in answer.text
    assert await changes(running) == 0
    assert await stored(running) is None


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("/editevent", "Which event?"),
        ("/editevent nope title = X", "There is no event nope"),
        ("/editevent winter-school colour = red", "no field “colour”"),
        ("/editevent winter-school start = 2020-01-01 10:00", "is in the past"),
        ("/editevent winter-school start = 2026-12-07 10:00 Mars/Base", "unknown time zone"),
        ("/editevent winter-school start = soon", "not a date I can read"),
        ("/editevent winter-school end = 2026-12-01 10:00", "is before the start"),
        ("/editevent winter-school title = ", "The title is empty"),
        ("/editevent winter-school title = Winter school <b>on</b> physics", "nothing to change"),
        ("/editevent winter-school source = nope", "There is no source nope"),
    ],
)
async def test_bad_input_to_editevent_is_explained_and_writes_nothing(
    running: Running, line: str, says: str
) -> None:
    await added(running)
    answer = await curator(running).send(line)
    assert says in answer.text
    assert not answer.buttons
    assert await changes(running) == 1


async def test_a_second_admins_edit_meanwhile_is_not_overwritten(running: Running) -> None:
    await added(running)
    first = curator(running)
    second = running.chat(OTHER_ADMIN, first_name="Other")
    first_preview = await first.send("/editevent winter-school title = First title")
    second_preview = await second.send("/editevent winter-school title = Second title")
    await second.press(second_preview, "✅ Confirm")
    refused = await first.press(first_preview, "✅ Confirm")
    assert (
        "Not saved: after you were shown winter-school, Other (id 4343) changed it at "
        "2026-11-25 17:00 Asia/Almaty" in refused.text
    )
    assert "Second title" in refused.text
    event = await stored(running)
    assert event is not None
    assert event.title == "Second title"
    assert await changes(running) == 2


# /cancelevent


async def test_cancelevent_asks_then_cancels_and_hides_the_event(running: Running) -> None:
    await added(running)
    admin = curator(running)
    preview = await admin.send("/cancelevent winter-school")
    assert "Cancel event winter-school?" in preview.text
    kept = await admin.press(preview, "✖️ Cancel")
    assert "nothing was changed" in kept.text
    assert await changes(running) == 1

    preview = await admin.send("/cancelevent winter-school")
    done = await admin.press(preview, "✅ Confirm")
    assert "Event winter-school cancelled" in done.text
    event = await stored(running)
    assert event is not None
    assert event.status == "cancelled"
    async with running.sessions() as session:
        last = await session.scalar(select(Change).order_by(Change.id.desc()).limit(1))
    assert last is not None
    assert (last.action, last.admin_id) == ("cancel", ADMIN)
    assert "Winter school" not in (await running.chat(555).send("/events")).text
    again = await admin.send("/cancelevent winter-school")
    assert "already cancelled" in again.text
    fields = await admin.send("/editevent winter-school")
    assert "cancelled" in fields.text


@pytest.mark.parametrize(
    ("line", "says"),
    [("/cancelevent", "Name one event"), ("/cancelevent nope", "There is no event nope")],
)
async def test_bad_input_to_cancelevent_is_explained_and_writes_nothing(
    running: Running, line: str, says: str
) -> None:
    answer = await curator(running).send(line)
    assert says in answer.text
    assert await changes(running) == 0


# What subscribers get


async def test_a_subscriber_is_reminded_of_an_added_event(running: Running) -> None:
    await subscribe(running, SUBSCRIBER)
    await added(running)
    await tick_at(running, START - timedelta(days=7))
    await tick_at(running, START - timedelta(hours=1))
    assert first_lines(running, SUBSCRIBER) == ["⏰ Reminder: in 7 days", "⏰ Reminder: in 1 hour"]
    assert "Winter school" in running.emulator.history(SUBSCRIBER)[-1].text


async def test_a_moved_event_brings_a_notice_and_reminders_at_the_new_time(
    running: Running,
) -> None:
    await subscribe(running, SUBSCRIBER)
    await added(running)
    await tick_at(running, START - timedelta(days=7))
    admin = curator(running)
    preview = await admin.send("/editevent winter-school start = 2026-12-15 17:00")
    await admin.press(preview, "✅ Confirm")
    await tick_at(running, running.clock.now())
    assert first_lines(running, SUBSCRIBER)[-1] == "🔄 Changed: date"
    notice = running.emulator.history(SUBSCRIBER)[-1].text
    assert "📅 Date: 5 December 2026 → 15 December 2026" in notice
    assert "15 December 2026, 17:00 Almaty" in running.emulator.history(SUBSCRIBER)[-1].text

    await tick_at(running, START - timedelta(hours=1))
    assert len(first_lines(running, SUBSCRIBER)) == 2, "no reminder at the old time"
    moved = START + timedelta(days=10)
    for lead in (timedelta(days=7), timedelta(days=1), timedelta(hours=1)):
        await tick_at(running, moved - lead)
    assert first_lines(running, SUBSCRIBER)[2:] == [
        "⏰ Reminder: in 7 days",
        "⏰ Reminder: in 1 day",
        "⏰ Reminder: in 1 hour",
    ]


async def test_a_changed_notice_says_what_changed_from_what_to_what(running: Running) -> None:
    """Only the time moves, then the place and the end: each notice names those, old → new."""
    await subscribe(running, SUBSCRIBER)
    await added(running)
    await tick_at(running, START - timedelta(days=7))
    admin = curator(running)
    for line in (
        "/editevent winter-school start = 2026-12-05 19:30",
        "/editevent winter-school place = Astana",
        "/editevent winter-school end = 2026-12-06 13:00",
    ):
        await admin.press(await admin.send(line), "✅ Confirm")
        if "place" in line:
            continue  # the place and the end reach subscribers in one notice
        await tick_at(running, running.clock.now())
    time_moved, place_and_end = (
        message.text.split("\n\n")[0] for message in running.emulator.history(SUBSCRIBER)[1:]
    )
    assert time_moved == (
        "🔄 Changed: time\n🕒 Time: 17:00 → 19:30\nReminders follow the new start."
    )
    assert place_and_end == (
        "🔄 Changed: place and end\n📍 Place: INP, Almaty → Astana\n"
        "🏁 End: none given → 6 December 2026, 13:00"
    )


async def test_reminders_due_before_an_event_was_added_or_moved_are_skipped_not_sent_late(
    running: Running,
) -> None:
    """Added three days ahead, then moved: no burst of "late" reminders, only those ahead."""
    await subscribe(running, SUBSCRIBER)
    admin = curator(running)
    soon = ADD.replace("2026-12-05 17:00", "2026-11-28 17:00")  # 3 days ahead
    await admin.press(await admin.send(soon), "✅ Confirm")
    for minutes in (0, 1, 6):
        await tick_at(running, DEFAULT_NOW + timedelta(minutes=minutes))
    assert first_lines(running, SUBSCRIBER) == [], (
        "the 7-day reminder fell due before the event was known"
    )
    async with running.sessions() as session:
        skipped = await session.scalars(
            select(Digest.lead).where(
                Digest.event_id == "winter-school", Digest.status == "skipped"
            )
        )
        assert list(skipped) == ["7d"]
    start = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    await tick_at(running, start - timedelta(days=1))
    assert first_lines(running, SUBSCRIBER) == ["⏰ Reminder: in 1 day"]
    assert "Sent late" not in running.emulator.history(SUBSCRIBER)[-1].text

    # Moved two hours ahead: its 1-day moment has passed; only the notice and the 1 h one go.
    moved_to = running.clock.now() + timedelta(hours=2)
    local = moved_to.astimezone(ALMATY).strftime("%Y-%m-%d %H:%M")
    await admin.press(await admin.send(f"/editevent winter-school start = {local}"), "✅ Confirm")
    for minutes in (0, 1, 6):
        await tick_at(running, running.clock.now() + timedelta(minutes=minutes))
    await tick_at(running, moved_to - timedelta(hours=1))
    assert first_lines(running, SUBSCRIBER) == [
        "⏰ Reminder: in 1 day",
        "🔄 Changed: date and time",
        "⏰ Reminder: in 1 hour",
    ]


async def test_a_cancelled_event_is_announced_and_never_reminded_again(
    running: Running,
) -> None:
    await subscribe(running, SUBSCRIBER)
    await added(running)
    await tick_at(running, START - timedelta(days=7))
    admin = curator(running)
    preview = await admin.send("/cancelevent winter-school")
    await admin.press(preview, "✅ Confirm")
    await tick_at(running, running.clock.now())
    await tick_at(running, START - timedelta(days=1))
    await tick_at(running, START - timedelta(hours=1))
    assert first_lines(running, SUBSCRIBER) == [
        "⏰ Reminder: in 7 days",
        "❌ Cancelled: this event will not take place.",
    ]


async def test_a_reverted_cancellation_tells_those_told_it_is_on_again(running: Running) -> None:
    """Cancel, revert, cancel again: each is told, once, to those who heard the one before."""
    await subscribe(running, SUBSCRIBER)
    await subscribe(running, 1002)
    await added(running)
    await tick_at(running, START - timedelta(days=7))
    admin = curator(running)
    for _ in range(2):
        done = await admin.press(await admin.send("/cancelevent winter-school"), "✅ Confirm")
        await tick_at(running, running.clock.now())
        change = re.search(r"#(\d+)", done.text)
        assert change is not None, done.text
        await admin.press(await admin.send(f"/revert {change[1]}"), "Undo it")
        await tick_at(running, running.clock.now())
        await tick_at(running, running.clock.now())
    await tick_at(running, START - timedelta(days=1))
    for chat_id in (SUBSCRIBER, 1002):
        assert first_lines(running, chat_id) == [
            "⏰ Reminder: in 7 days",
            CANCELLED_NOTICE,
            ON_AGAIN,
            CANCELLED_NOTICE,
            ON_AGAIN,
            "⏰ Reminder: in 1 day",
        ]
    assert "Winter school" in running.emulator.history(SUBSCRIBER)[2].text


async def test_going_back_before_an_earlier_cancellation_tells_it_is_on_again(
    running: Running,
) -> None:
    """Cancel, undo, cancel again; then /revert of the first cancellation, past the later two:
    the event is on again, written as an edit, so the next digest says so and reminds."""
    await subscribe(running, SUBSCRIBER)
    await added(running)
    await tick_at(running, START - timedelta(days=7))
    admin = curator(running)
    numbers: list[int] = []
    for command in ("/cancelevent winter-school", "/revert {}", "/cancelevent winter-school"):
        preview = await admin.send(command.format(*numbers[-1:]))
        done = await admin.press(preview, preview.button_labels[0])
        numbers.append(int(re.findall(r"#(\d+)", done.text)[-1]))
        await tick_at(running, running.clock.now())
    first_cancel = numbers[0]
    preview = await admin.send(f"/revert {first_cancel}")
    assert "status: cancelled → scheduled" in preview.text
    assert f"#{numbers[2]} cancel (event)" in preview.text
    await admin.press(preview, "Undo it")
    await tick_at(running, running.clock.now())
    await tick_at(running, START - timedelta(days=1))
    assert first_lines(running, SUBSCRIBER) == [
        "⏰ Reminder: in 7 days",
        CANCELLED_NOTICE,
        ON_AGAIN,
        CANCELLED_NOTICE,
        ON_AGAIN,
        "⏰ Reminder: in 1 day",
    ]


async def test_examples_in_admin_texts_are_ahead_of_the_clock_and_name_real_events(
    running: Running,
) -> None:
    """Every date an admin is shown as an example can be copied years from now; ids exist."""
    now = datetime(2031, 6, 15, 9, 0, tzinfo=UTC)
    running.clock.set(now)
    admin = curator(running)
    shown = [
        await admin.send(line)
        for line in (
            "/help",
            "/addevent too | few | parts",
            f"/addevent x | T | someday | P | {SOURCE} | D",
            f"/addevent x | T | 2031-07-01 10:00 Mars/Olympus | P | {SOURCE} | D",
            f"/addevent x | T | 2030-01-01 10:00 | P | {SOURCE} | D",
            f"/addevent x | T | 2031-07-01 10:00 | P | {SOURCE} | D | 2031-07-02",
            f"/addevent Bad_Id | T | 2031-07-01 | P | {SOURCE} | D",
            "/editevent",
            "/cancelevent",
        )
    ]
    texts = "\n".join(message.text for message in shown)
    # What the admin wrote is echoed in quotes, and the clock's time is given: not examples.
    examples = re.sub(r"“[^”]*”|it is now [^)]*", "", texts)
    # Dates as admins write them, not the ones inside ids (jinr-2023-10-04-…).
    dates = re.findall(r"(?<![\w-])\d{4}-\d{2}(?:-\d{2})?(?: \d{2}:\d{2})?(?![\w-])", examples)
    assert len(dates) >= 10, texts
    for date in dates:
        assert not parse(date, default_zone=ALMATY).is_past(now), f"{date!r} is past: {texts}"
    ids = {event["id"] for event in load_content(DEFAULT_CONTENT).events}
    named = set(re.findall(r"/(?:editevent|cancelevent) ([a-z0-9-]+)", texts)) - {"id"}
    assert named, texts
    assert named <= ids, f"{named - ids} are not events"
    *_, example = (line for line in shown[1].text.splitlines() if line.startswith("/addevent "))
    preview = await admin.send(example)
    assert "✅ Confirm" in preview.button_labels, preview.text


async def test_reverting_a_move_to_a_start_that_is_over_is_refused(running: Running) -> None:
    await added(running)
    admin = curator(running)
    preview = await admin.send("/editevent winter-school start = 2026-12-15 17:00")
    done = await admin.press(preview, "✅ Confirm")
    move = re.search(r"#(\d+)", done.text)
    assert move is not None, done.text
    running.clock.set(START + timedelta(days=1))  # the old start is over, the new one ahead
    refused = await admin.send(f"/revert {move[1]}")
    assert "starts at 2026-12-05 17:00 Asia/Almaty, which is over" in refused.text
    assert not refused.buttons
    event = await stored(running)
    assert event is not None
    assert event.starts_at == datetime(2026, 12, 15, 12, 0, tzinfo=UTC)
