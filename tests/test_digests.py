"""Reminders, notices and summaries through the emulator, driven tick by tick on a manual clock.

Each test calls the tick itself, as the JobQueue would, after setting the clock; when the tick
returns every send has been answered, so the emulator's history is final. The app is built with
generous sending limits: pacing has its own tests, and here it would only add real seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from bot.app import digest_engine
from bot.context import Context
from bot.digest.planning import plan
from bot.digest.sending import Tally, stale
from bot.digest.sends import in_flight
from bot.digest.ticker import TICK_JOB, Ticker
from bot.emulator import ApiError
from bot.knowledge import refresh
from bot.settings import Limits, Settings
from storage import subscriptions
from storage.bot_models import Chat, Delivery, Digest, Subscription
from storage.digests import DeliveryStatus
from storage.models import Agreement, Event, Facility, Fact, Person, Role
from tests.conftest import DEFAULT_NOW, UNPACED, Running, both_ways
from tests.helpers import (
    SOURCE_ID,
    START,
    add_event,
    chat_row,
    received,
    sends_to,
    subscribe,
    tick,
    tick_at,
)

LONG_AGO = datetime(2023, 10, 4, tzinfo=UTC)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings, with limits the pacing never has to wait for."""
    return dataclasses.replace(
        settings,
        limits=UNPACED,
    )


@pytest.fixture
async def aged(running: Running) -> Running:
    """The bot with content/ dated long ago, so that only what a test adds is new."""
    async with running.sessions.begin() as session:
        for model in (Fact, Event, Person, Role, Facility, Agreement):
            await session.execute(update(model).values(created_at=LONG_AGO, updated_at=LONG_AGO))
    return running


async def change_event(running: Running, event_id: str = "school", **values: object) -> None:
    async with running.sessions.begin() as session:
        await session.execute(update(Event).where(Event.id == event_id).values(**values))


async def add_fact(running: Running, title: str, at: datetime) -> None:
    async with running.sessions.begin() as session:
        topic = await session.scalar(select(Fact.topic).limit(1))
        session.add(
            Fact(
                id=title.lower().replace(" ", "-"),
                topic=topic,
                title=title,
                text="Added by a test.",
                source_id=SOURCE_ID,
                origin="admin",
                created_at=at,
                updated_at=at,
            )
        )


async def digest_rows(running: Running) -> dict[str, Digest]:
    async with running.sessions() as session:
        return {digest.id: digest for digest in await session.scalars(select(Digest))}


async def delivery_rows(running: Running, chat_id: int) -> list[Delivery]:
    async with running.sessions() as session:
        found = await session.scalars(
            select(Delivery).where(Delivery.chat_id == chat_id).order_by(Delivery.updated_at)
        )
        return list(found)


async def test_each_subscriber_gets_each_reminder_exactly_once(running: Running) -> None:
    await subscribe(running, 1001)
    await subscribe(running, 1002)
    await add_event(running)
    await tick(running)
    assert received(running, 1001) == []
    for lead, words in [(timedelta(days=7), "7 days"), (timedelta(days=1), "1 day")]:
        await tick_at(running, START - lead)
        await tick(running)
        running.clock.advance(timedelta(minutes=1))
        await tick(running)
        for chat_id in (1001, 1002):
            assert received(running, chat_id)[-1].startswith(f"⏰ Reminder: in {words}")
    await tick_at(running, START - timedelta(hours=1))
    for chat_id in (1001, 1002):
        sent = received(running, chat_id)
        assert len(sent) == 3
        assert sent[-1].startswith("⏰ Reminder: in 1 hour")
        assert "Summer school on nuclear physics" in sent[-1]
        assert "Source: JINR" in sent[-1]
    assert {d.status for d in (await digest_rows(running)).values() if d.kind == "reminder"} == {
        "done"
    }


async def test_sends_go_on_while_earlier_ones_are_marked_never_too_many_unmarked(
    running: Running,
) -> None:
    window = in_flight(running.app.bot_data.settings.limits)
    chats = range(3000, 3000 + 5 * window)
    for chat_id in chats:
        await subscribe(running, chat_id)
    await add_event(running)
    running.clock.set(START - timedelta(hours=1))

    async def marked_sent() -> int:
        # A read of its own beside the bot's connections: it sees each committed mark.
        async with running.sessions() as session:
            sent = select(func.count()).where(Delivery.status == DeliveryStatus.SENT)
            return int(await session.scalar(sent) or 0)

    ticking = asyncio.create_task(tick(running))
    # Sent (the emulator has the request) but not yet marked, each time a send arrives; the
    # count of sends is read first, so a mark landing between the two reads only lowers it.
    unmarked = []
    while len(running.emulator.calls_to("sendMessage")) < len(chats):
        await running.emulator.wait_for_call("sendMessage", after=len(running.emulator.calls))
        unmarked.append(len(running.emulator.calls_to("sendMessage")) - await marked_sent())
    await ticking
    assert max(unmarked) <= window
    # Marks trail the sends rather than come all at the end, or one at a time after each.
    assert max(unmarked) > 1
    assert await marked_sent() == len(chats)
    assert all(sends_to(running, chat_id) == 1 for chat_id in chats)


def test_more_sends_are_in_flight_at_a_higher_rate_within_bounds() -> None:
    assert in_flight(Limits(per_second=30)) == 8
    assert in_flight(Limits(per_second=250)) == 16
    assert in_flight(Limits(per_second=1000)) == 64
    assert in_flight(Limits(per_second=10**6)) == 64


async def test_an_event_known_to_the_day_is_reminded_at_nine_local(running: Running) -> None:
    almaty = ZoneInfo("Asia/Almaty")
    await subscribe(running, 1001)
    await add_event(running, starts_at=datetime(2026, 12, 10, tzinfo=almaty), precision="day")
    await tick_at(running, datetime(2026, 12, 3, 8, 59, tzinfo=almaty))
    assert received(running, 1001) == []
    await tick_at(running, datetime(2026, 12, 3, 9, 0, tzinfo=almaty))
    assert received(running, 1001)[-1].startswith("⏰ Reminder: in 7 days")
    # The day before: not at midnight, nor at any hour before nine.
    await tick_at(running, datetime(2026, 12, 9, 0, 0, tzinfo=almaty))
    await tick_at(running, datetime(2026, 12, 9, 8, 59, tzinfo=almaty))
    assert len(received(running, 1001)) == 1
    await tick_at(running, datetime(2026, 12, 9, 9, 0, tzinfo=almaty))
    assert received(running, 1001)[-1].startswith("⏰ Reminder: in 1 day")
    assert "10 December 2026" in received(running, 1001)[-1]


async def test_a_chat_that_chose_1h_gets_only_the_1h_reminder(running: Running) -> None:
    await subscribe(running, 1001, lead_times="1h")
    await subscribe(running, 1002, lead_times="7d,1h")
    await add_event(running)
    for lead in (timedelta(days=7), timedelta(days=1), timedelta(hours=1)):
        await tick_at(running, START - lead)
    assert [text.split("\n")[0] for text in received(running, 1001)] == ["⏰ Reminder: in 1 hour"]
    assert [text.split("\n")[0] for text in received(running, 1002)] == [
        "⏰ Reminder: in 7 days",
        "⏰ Reminder: in 1 hour",
    ]


async def test_a_moved_event_brings_a_notice_then_reminders_at_its_new_time(
    running: Running,
) -> None:
    await subscribe(running, 1001)
    await subscribe(running, 1002, lead_times="1h")
    await add_event(running)
    await tick_at(running, START - timedelta(days=7))
    await tick_at(running, START - timedelta(days=1))
    moved = START + timedelta(days=10)
    await change_event(running, starts_at=moved)
    await tick(running)
    await tick(running)
    sent = received(running, 1001)
    assert len(sent) == 3
    assert sent[-1].startswith("🔄 Changed: date\n📅 Date: 5 December 2026 → 15 December 2026\n")
    assert "Reminders follow the new start." in sent[-1]
    assert "15 December 2026, 17:00 Almaty" in sent[-1]
    # Reminded of nothing yet, 1002 has nothing to correct.
    assert received(running, 1002) == []

    await tick_at(running, START - timedelta(hours=1))
    assert len(received(running, 1001)) == 3
    for lead in (timedelta(days=7), timedelta(days=1), timedelta(hours=1)):
        await tick_at(running, moved - lead)
    firsts = [text.split("\n")[0] for text in received(running, 1001)[3:]]
    assert firsts == [
        "⏰ Reminder: in 7 days",
        "⏰ Reminder: in 1 day",
        "⏰ Reminder: in 1 hour",
    ]
    assert [text.split("\n")[0] for text in received(running, 1002)] == ["⏰ Reminder: in 1 hour"]


async def test_a_new_place_is_announced_once_and_a_new_description_is_not(
    running: Running,
) -> None:
    await subscribe(running, 1001)
    await add_event(running)
    await tick_at(running, START - timedelta(days=7))
    await change_event(running, description="Lectures, practice and a visit to the reactor.")
    await tick(running)
    assert len(received(running, 1001)) == 1, "the description is not worth a message"

    await change_event(running, place="Astana")
    await tick(running)
    await tick(running)
    sent = received(running, 1001)
    assert len(sent) == 2
    assert sent[-1].startswith("🔄 Changed: place\n📍 Place: Almaty → Astana\n\n")
    assert "Astana" in sent[-1]

    await tick_at(running, START - timedelta(days=1))
    sent = received(running, 1001)
    assert len(sent) == 3
    assert sent[-1].startswith("⏰ Reminder: in 1 day")
    assert "Astana" in sent[-1]


async def test_a_new_end_is_announced_and_a_move_back_is_announced_again(
    running: Running,
) -> None:
    await subscribe(running, 1001)
    await add_event(running)
    await tick_at(running, START - timedelta(days=7))
    await change_event(running, ends_at=START + timedelta(hours=3))
    await tick(running)
    await change_event(running, ends_at=None)
    await tick(running)
    heads = [text.split("\n\n")[0] for text in received(running, 1001)]
    assert heads == [
        "⏰ Reminder: in 7 days",
        "🔄 Changed: end\n🏁 End: none given → 5 December 2026, 20:00",
        "🔄 Changed: end\n🏁 End: 5 December 2026, 20:00 → none given",
    ]


async def test_an_event_moved_back_and_forth_is_announced_each_time(running: Running) -> None:
    """A→B→A→B: each move is news to those told otherwise, even to a start told of before."""
    await subscribe(running, 1001)
    await add_event(running)
    await tick_at(running, START - timedelta(days=7))
    later = START + timedelta(days=2)
    for starts_at in (later, START, later):
        await change_event(running, starts_at=starts_at)
        await tick(running)
        await tick(running)
    firsts = [text.split("\n")[0] for text in received(running, 1001)]
    moved = "🔄 Changed: date"
    assert firsts == ["⏰ Reminder: in 7 days", moved, moved, moved]
    dates = [text.split("\n")[1] for text in received(running, 1001)[1:]]
    assert dates == [
        "📅 Date: 5 December 2026 → 7 December 2026",
        "📅 Date: 7 December 2026 → 5 December 2026",
        "📅 Date: 5 December 2026 → 7 December 2026",
    ]
    assert "7 December 2026" in received(running, 1001)[-1]


async def test_reminders_from_before_places_were_recorded_bring_no_notice(
    running: Running,
) -> None:
    """After the upgrade that added digests.place, old reminders say nothing of the place:
    a place change then is not announced rather than announced to the wrong people."""
    await subscribe(running, 1001)
    await add_event(running)
    await tick_at(running, START - timedelta(days=7))
    async with running.sessions.begin() as session:
        await session.execute(update(Digest).values(place=None))
    await change_event(running, place="Astana")
    await tick(running)
    assert len(received(running, 1001)) == 1


async def test_a_cancelled_event_is_announced_to_those_reminded_of_it(running: Running) -> None:
    await subscribe(running, 1001)
    await subscribe(running, 1002, lead_times="1h")
    await add_event(running)
    await tick_at(running, START - timedelta(days=7))
    await change_event(running, status="cancelled")
    await tick(running)
    await tick_at(running, START - timedelta(hours=1))
    sent = received(running, 1001)
    assert len(sent) == 2
    assert sent[-1].startswith("❌ Cancelled: this event will not take place.")
    assert "Summer school on nuclear physics" in sent[-1]
    assert received(running, 1002) == []


async def test_after_downtime_the_latest_due_reminder_goes_out_marked_late(
    running: Running,
) -> None:
    await subscribe(running, 1001)
    await add_event(running)
    await tick_at(running, START - timedelta(hours=20))
    await tick(running)
    sent = received(running, 1001)
    assert len(sent) == 1
    assert sent[0].startswith("⏰ Reminder: in 20 hours")
    assert "Sent late" in sent[0]
    rows = await digest_rows(running)
    starts = START.isoformat()
    week, day = rows[f"reminder:school:7d:{starts}"], rows[f"reminder:school:1d:{starts}"]
    assert (week.status, week.late, week.due_at) == ("skipped", False, START - timedelta(days=7))
    assert (day.status, day.late) == ("done", True)
    assert f"reminder:school:1h:{starts}" not in rows
    async with running.sessions() as session:
        assert await session.scalar(select(Delivery).where(Delivery.digest_id == week.id)) is None


async def test_after_downtime_past_the_start_every_reminder_is_skipped(
    running: Running,
) -> None:
    await subscribe(running, 1001)
    await add_event(running)
    await tick_at(running, START + timedelta(hours=1))
    assert received(running, 1001) == []
    rows = await digest_rows(running)
    reminders = {d.lead: d.status for d in rows.values() if d.kind == "reminder"}
    assert reminders == {"7d": "skipped", "1d": "skipped", "1h": "skipped"}


async def test_a_blocked_chat_is_deactivated_and_not_messaged_until_it_starts_again(
    running: Running,
) -> None:
    await subscribe(running, 1001)
    await subscribe(running, 1002)
    await add_event(running)
    running.emulator.block(1001)
    await tick_at(running, START - timedelta(days=7))
    assert len(received(running, 1002)) == 1
    chat = await chat_row(running, 1001)
    assert chat is not None
    assert chat.active is False
    [failed] = await delivery_rows(running, 1001)
    assert failed.status == "failed"
    assert failed.error is not None
    assert "blocked" in failed.error

    await tick_at(running, START - timedelta(days=1))
    assert sends_to(running, 1001) == 1
    assert len(received(running, 1002)) == 2

    running.emulator.unblock(1001)
    await running.emulator.private_chat(running.user(1001)).send("/start")
    await tick_at(running, START - timedelta(hours=1))
    assert received(running, 1001)[-1].startswith("⏰ Reminder: in 1 hour")


async def test_a_chat_telegram_cannot_find_is_deactivated_and_not_tried_again(
    running: Running,
) -> None:
    await subscribe(running, 4242, in_emulator=False)
    await subscribe(running, 1002)
    await add_event(running)
    await tick_at(running, START - timedelta(days=7))
    chat = await chat_row(running, 4242)
    assert chat is not None
    assert chat.active is False
    await tick_at(running, START - timedelta(days=1))
    assert sends_to(running, 4242) == 1
    assert len(received(running, 1002)) == 2


async def test_a_group_that_became_a_supergroup_gets_the_reminder_at_its_new_id_once(
    running: Running,
) -> None:
    old, new = -500, -100500
    running.emulator.group(old, "Physics club", supergroup=False)
    running.emulator.group(new, "Physics club")
    await subscribe(running, old, lead_times="7d,1d")
    await add_event(running)
    running.emulator.fail("sendMessage", ApiError.migrated(new), times=10, chat_id=old)
    await tick_at(running, START - timedelta(days=7))
    await tick(running)
    assert [text.split("\n")[0] for text in received(running, new)] == ["⏰ Reminder: in 7 days"]
    async with running.sessions() as session:
        assert await session.get(Subscription, old) is None
        moved = await session.get(Subscription, new)
        assert moved is not None
        assert moved.lead_times == "7d,1d"
        now_chat, old_chat = await session.get(Chat, new), await session.get(Chat, old)
        assert now_chat is not None
        assert (now_chat.type, now_chat.active) == ("supergroup", True)
        assert old_chat is not None
        assert old_chat.active is False
    assert [row.status for row in await delivery_rows(running, new)] == ["sent"]

    await tick_at(running, START - timedelta(days=1))
    assert len(received(running, new)) == 2
    assert sends_to(running, old) == 1


async def test_a_failed_send_stays_pending_and_the_next_tick_delivers_it(
    running: Running,
) -> None:
    await subscribe(running, 1001)
    await add_event(running)
    running.emulator.fail("sendMessage", ApiError(502, "Bad Gateway"), chat_id=1001)
    await tick_at(running, START - timedelta(days=7))
    [row] = await delivery_rows(running, 1001)
    assert (row.status, row.attempts) == ("pending", 1)
    await tick(running)
    [row] = await delivery_rows(running, 1001)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(received(running, 1001)) == 1


async def test_deliveries_planned_before_a_crash_are_sent_by_the_next_tick(
    running: Running,
) -> None:
    await subscribe(running, 1001)
    await subscribe(running, 1002)
    await add_event(running)
    running.clock.set(START - timedelta(days=7))
    data = running.app.bot_data
    await refresh(data)
    async with data.sessions.begin() as session:
        assert await plan(session, digest_engine(data), now=data.clock.now()) == 1
    assert [row.status for row in await delivery_rows(running, 1001)] == ["pending"]
    await tick(running)
    await tick(running)
    assert len(received(running, 1001)) == len(received(running, 1002)) == 1


async def test_the_summary_goes_out_on_the_crontab_when_something_is_new(aged: Running) -> None:
    running = aged
    await subscribe(running, 1001, events=False, news=True)
    await tick(running)
    assert received(running, 1001) == []
    await add_fact(running, "A new beamline at DC-280", DEFAULT_NOW + timedelta(days=1))
    # Mondays at 09:00 in Asia/Almaty (UTC+5).
    monday = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    await tick_at(running, monday - timedelta(seconds=1))
    assert received(running, 1001) == []
    await tick_at(running, monday)
    await tick(running)
    [summary] = received(running, 1001)
    assert summary.startswith("🗞 What is new since Monday 23 November, 09:00")
    assert "A new beamline at DC-280" in summary
    rows = await digest_rows(running)
    assert rows[f"summary:{monday.isoformat()}"].status == "done"


async def test_no_summary_is_sent_when_nothing_is_new(aged: Running) -> None:
    running = aged
    await subscribe(running, 1001, events=False, news=True)
    await tick_at(running, datetime(2026, 11, 30, 4, 0, tzinfo=UTC))
    await tick_at(running, datetime(2026, 12, 7, 4, 0, tzinfo=UTC))
    assert received(running, 1001) == []
    summaries = [d for d in (await digest_rows(running)).values() if d.kind == "summary"]
    assert len(summaries) == 2
    assert {d.status for d in summaries} == {"skipped"}


async def test_the_channel_receives_every_digest(aged: Running) -> None:
    running = aged
    channel = running.emulator.group(-100900, "JINR–Kazakhstan news")
    data = running.app.bot_data
    data.settings = dataclasses.replace(
        data.settings, digest=dataclasses.replace(data.settings.digest, channel_id=channel.id)
    )
    await subscribe(running, 1001, lead_times="1h")
    await add_event(running)
    await tick(running)
    await add_fact(running, "A new beamline at DC-280", DEFAULT_NOW + timedelta(days=1))
    await tick_at(running, START - timedelta(days=7))
    await tick_at(running, START - timedelta(hours=1))
    firsts = [text.split("\n")[0] for text in received(running, channel.id)]
    # The summary of Monday 30 November is planned by the same tick as the 1h reminder.
    assert firsts == [
        "⏰ Reminder: in 7 days",
        "⏰ Reminder: in 1 hour",
        "🗞 What is new since Monday 23 November, 09:00",
    ]
    assert [text.split("\n")[0] for text in received(running, 1001)] == ["⏰ Reminder: in 1 hour"]


@both_ways
async def test_digest_previews_the_next_reminder_and_summary(aged: Running) -> None:
    running = aged
    await add_event(running, created_at=LONG_AGO)
    chat = running.chat()
    shown = await chat.send("/digest")
    assert "Next reminder, on Saturday 28 November, 17:00 (Asia/Almaty)" in shown.text
    assert "Reminder: in 7 days" in shown.text
    assert "Summer school on nuclear physics" in shown.text
    assert "nothing is new so far" in shown.text
    assert "This chat is not subscribed" in shown.text

    await chat.send("/subscribe")
    async with running.sessions.begin() as session:
        await session.execute(update(Subscription).values(lead_times="1h"))
    await add_fact(running, "A new beamline at DC-280", DEFAULT_NOW - timedelta(hours=1))
    shown = await chat.send("/digest")
    assert "Next reminder, on Saturday 5 December, 16:00 (Asia/Almaty)" in shown.text
    assert "Reminder: in 1 hour" in shown.text
    assert "Next summary, on Monday 30 November, 09:00 (Asia/Almaty)" in shown.text
    assert "A new beamline at DC-280" in shown.text
    assert "not subscribed" not in shown.text


async def test_a_reminder_in_a_dst_zone_comes_exactly_a_day_before_in_absolute_time(
    running: Running,
) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # Clocks in Berlin go from 02:00 to 03:00 on 29 March 2026.
    starts = datetime(2026, 3, 29, 12, 0, tzinfo=berlin)
    day_before = starts.astimezone(UTC) - timedelta(days=1)
    assert day_before.astimezone(berlin).hour == 11
    await subscribe(running, 1001, lead_times="1d")
    await tick_at(running, datetime(2026, 3, 20, tzinfo=UTC))
    await add_event(running, starts_at=starts, zone="Europe/Berlin")
    await tick_at(running, day_before - timedelta(seconds=1))
    assert received(running, 1001) == []
    await tick_at(running, day_before)
    [reminder] = received(running, 1001)
    assert reminder.startswith("⏰ Reminder: in 1 day")
    assert "29 March 2026, 12:00 Berlin" in reminder
    assert "Sent late" not in reminder


async def test_the_summary_fires_at_nine_local_across_a_dst_change(aged: Running) -> None:
    running = aged
    data = running.app.bot_data
    data.settings = dataclasses.replace(
        data.settings,
        zone=ZoneInfo("Europe/Berlin"),
        digest=dataclasses.replace(data.settings.digest, summary="0 9 * * *"),
    )
    await subscribe(running, 1001, events=False, news=True)
    saturday = datetime(2026, 3, 28, 8, 0, tzinfo=UTC)  # 09:00 CET
    await tick_at(running, saturday)
    await add_fact(running, "A new beamline at DC-280", saturday + timedelta(hours=2))
    sunday = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST, an hour earlier in UTC
    await tick_at(running, sunday - timedelta(seconds=1))
    assert received(running, 1001) == []
    await tick_at(running, sunday)
    [summary] = received(running, 1001)
    assert summary.startswith("🗞 What is new since Saturday 28 March, 09:00")
    rows = await digest_rows(running)
    assert rows[f"summary:{sunday.isoformat()}"].due_at == sunday


async def test_a_tick_asked_for_while_one_runs_goes_once_more_after_it(running: Running) -> None:
    """A reminder planned while a tick is sending (as a confirmed broadcast is) goes out in
    that same run, not a tick interval later, and never from two ticks at once."""
    await subscribe(running, 1001)
    await add_event(running)
    running.clock.set(START - timedelta(days=7))
    ticker = Ticker(digest_engine(running.app.bot_data))
    context = Context(running.app)
    async with ticker.lock:
        await ticker(context)
        assert received(running, 1001) == [], "nothing runs beside the running tick"
    assert ticker.again
    await ticker(context)
    assert len(received(running, 1001)) == 1
    assert not ticker.again


async def test_the_running_tick_goes_round_again_when_asked_meanwhile(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticker = Ticker(digest_engine(running.app.bot_data))
    context = Context(running.app)
    passes: list[int] = []

    async def one_pass(data: object, bot: object) -> Tally:
        passes.append(len(passes))
        if len(passes) == 1:
            await ticker(context)  # asked for while this pass runs
        return Tally()

    monkeypatch.setattr("bot.digest.ticker.digest_tick", one_pass)
    await ticker(context)
    assert passes == [0, 1]


async def test_the_tick_runs_on_the_job_queue_at_the_configured_interval(
    running: Running,
) -> None:
    assert running.app.job_queue is not None
    [job] = running.app.job_queue.get_jobs_by_name(TICK_JOB)
    assert isinstance(job.callback, Ticker)
    assert job.job.trigger.interval == running.settings.digest.tick


async def test_an_edit_landing_mid_fanout_stops_the_stale_reminder_and_sends_the_current_one(
    running: Running,
) -> None:
    """The place changes while the reminder is on its way: those it reached get the notice of
    the change once, the others only the reminder as it now reads, nobody both; the ledger
    records the chats it did not reach as superseded."""
    window = in_flight(running.app.bot_data.settings.limits)
    chats = list(range(3000, 3000 + 4 * window))
    for chat_id in chats:
        await subscribe(running, chat_id)
    quitter = chats[-1]
    await add_event(running)
    running.clock.set(START - timedelta(days=1))
    running.emulator.hold("sendMessage")
    ticking = asyncio.create_task(tick(running))
    await running.emulator.wait_for_call("sendMessage")
    # Between the first sends and their marks: an admin moves it, and one chat unsubscribes.
    await change_event(running, place="Astana")
    async with running.sessions.begin() as session:
        await subscriptions.unsubscribe(session, quitter, now=running.clock.now())
    running.emulator.release("sendMessage")
    tally = await ticking

    # The old place shows only in the stale reminder ("Asia/Almaty", the zone, in every one).
    reached = {
        chat_id
        for chat_id in chats
        if received(running, chat_id) and "Astana" not in received(running, chat_id)[0]
    }
    assert reached, "the first sends went out before the edit"
    assert len(reached) <= window, "the edit was seen at the next batch of sends"
    for chat_id in chats:
        firsts = [text.split("\n")[0] for text in received(running, chat_id)]
        if chat_id in reached:
            assert firsts == [
                "⏰ Reminder: in 1 day",
                "🔄 Changed: place",
            ]
            assert "📍 Place: Almaty → Astana" in received(running, chat_id)[1]
        elif chat_id == quitter:
            assert firsts == []
        else:
            assert firsts == ["⏰ Reminder: in 1 day"]
            assert "Astana" in received(running, chat_id)[0]
    assert tally.superseded == 1
    stale_key = f"reminder:school:1d:{START.isoformat()}"
    rows = await digest_rows(running)
    assert rows[stale_key].status == "superseded"
    async with running.sessions() as session:
        statuses = dict(
            (
                await session.execute(
                    select(Delivery.chat_id, Delivery.status).where(
                        Delivery.digest_id == stale_key
                    )
                )
            ).all()
        )
    assert {chat for chat, status in statuses.items() if status == "sent"} == reached
    assert {chat for chat, status in statuses.items() if status == "superseded"} == (
        set(chats) - reached
    )
    # Nothing more to tell on the next ticks.
    await tick(running)
    running.clock.advance(timedelta(minutes=1))
    await tick(running)
    assert all(len(received(running, chat_id)) <= 2 for chat_id in chats)


async def test_an_event_cancelled_mid_fanout_is_announced_only_to_those_reminded(
    running: Running,
) -> None:
    window = in_flight(running.app.bot_data.settings.limits)
    chats = list(range(3000, 3000 + 4 * window))
    for chat_id in chats:
        await subscribe(running, chat_id)
    await add_event(running)
    running.clock.set(START - timedelta(days=1))
    running.emulator.hold("sendMessage")
    ticking = asyncio.create_task(tick(running))
    await running.emulator.wait_for_call("sendMessage")
    await change_event(running, status="cancelled")
    running.emulator.release("sendMessage")
    await ticking
    await tick(running)

    reached = {chat_id for chat_id in chats if received(running, chat_id)}
    assert 0 < len(reached) <= window
    for chat_id in reached:
        firsts = [text.split("\n")[0] for text in received(running, chat_id)]
        assert firsts == [
            "⏰ Reminder: in 1 day",
            "❌ Cancelled: this event will not take place.",
        ]
    async with running.sessions() as session:
        superseded = await session.scalars(
            select(Delivery.chat_id).where(Delivery.status == "superseded")
        )
        assert set(superseded) == set(chats) - reached


async def delivery_statuses(running: Running) -> dict[int, str]:
    async with running.sessions() as session:
        rows = await session.execute(select(Delivery.chat_id, Delivery.status))
        return {chat_id: status for chat_id, status in rows}


async def test_stopping_mid_fanout_starts_no_more_sends_and_the_next_start_sends_the_rest_once(
    running: Running,
) -> None:
    data = running.app.bot_data
    window = in_flight(data.settings.limits)
    chats = list(range(3000, 3000 + 4 * window))
    for chat_id in chats:
        await subscribe(running, chat_id)
    await add_event(running)
    running.clock.set(START - timedelta(days=1))
    running.emulator.hold("sendMessage")
    ticking = asyncio.create_task(tick(running))
    await running.emulator.wait_for_call("sendMessage")
    data.stopping.set()
    # The sends on their way come back within the grace.
    running.emulator.release("sendMessage")
    tally = await ticking

    assert tally.stopped
    delivered = {chat_id for chat_id in chats if received(running, chat_id)}
    assert 0 < len(running.emulator.calls_to("sendMessage")) <= window
    statuses = await delivery_statuses(running)
    assert {chat for chat, status in statuses.items() if status == "sent"} == delivered
    assert {chat for chat, status in statuses.items() if status == "pending"} == (
        set(chats) - delivered
    )
    # The ticker does not go round again while the bot stops.
    await tick(running)
    assert len(running.emulator.calls_to("sendMessage")) == len(delivered)

    data.stopping.clear()  # as at the next start, on the same ledger
    await tick(running)
    assert all(sends_to(running, chat_id) == 1 for chat_id in chats)
    assert all(len(received(running, chat_id)) == 1 for chat_id in chats)
    assert set((await delivery_statuses(running)).values()) == {"sent"}


async def test_sends_that_do_not_come_back_are_given_up_after_the_grace_and_left_pending(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.digest.sending.STOP_GRACE", 0.05)
    data = running.app.bot_data
    window = in_flight(data.settings.limits)
    chats = list(range(3000, 3000 + 2 * window))
    for chat_id in chats:
        await subscribe(running, chat_id)
    await add_event(running)
    running.clock.set(START - timedelta(days=1))
    running.emulator.hold("sendMessage")
    ticking = asyncio.create_task(tick(running))
    await running.emulator.wait_for_call("sendMessage")
    data.stopping.set()
    # A failure bound, not a timing: before this was fixed, the fan-out waited forever.
    tally = await asyncio.wait_for(ticking, 30)

    assert tally.stopped
    assert set((await delivery_statuses(running)).values()) == {"pending"}
    # The given-up requests were dropped by the bot, so releasing carries none of them out.
    await running.emulator.wait_for_held("sendMessage", 0)
    running.emulator.release("sendMessage")
    data.stopping.clear()
    await tick(running)
    assert all(len(received(running, chat_id)) == 1 for chat_id in chats)
    assert set((await delivery_statuses(running)).values()) == {"sent"}


def test_a_cancelled_notice_is_stale_once_the_event_is_on_again_and_vice_versa() -> None:
    """So that a fan-out under way stops telling the old fate and the new notice follows."""
    event = Event(id="e", starts_at=START, place="Almaty", ends_at=None)
    scheduled: dict[str, Event] = {"e": event}
    cancelled: dict[str, Event] = {}
    notice = Digest(id="cancelled:e", kind="cancelled", event_id="e")
    on_again = Digest(id="restored:e:1", kind="restored", event_id="e", starts_at=START)
    assert stale(notice, cancelled) is None
    assert stale(notice, scheduled) == "the event is on again"
    assert stale(on_again, scheduled) is None
    assert stale(on_again, cancelled) == "the event is cancelled"


async def test_the_first_summary_does_not_present_the_seeded_record_as_new(
    running: Running,
) -> None:
    """Started on a Wednesday with content/ loaded: Monday's summary has only what came after."""
    first_start = DEFAULT_NOW - timedelta(hours=1)
    async with running.sessions.begin() as session:
        for model in (Fact, Event, Person, Role, Facility, Agreement):
            await session.execute(
                update(model).values(created_at=first_start, updated_at=first_start)
            )
    await refresh(running.app.bot_data)
    await subscribe(running, 1001, news=True)
    monday = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # 09:00 in Almaty
    await tick_at(running, monday)
    assert received(running, 1001) == [], "nothing was added since the bot began"

    await add_fact(running, "A new beamline at DC-280", monday + timedelta(days=1))
    await tick_at(running, monday + timedelta(days=7))
    [summary] = received(running, 1001)
    assert "A new beamline at DC-280" in summary
    assert "agreement" not in summary.lower(), summary


async def test_the_summary_preview_lists_as_coming_only_what_is_ahead_when_it_goes(
    aged: Running,
) -> None:
    """Saturday: an event that evening is over by Monday's summary, one next week is not."""
    running = aged
    saturday = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
    running.clock.set(saturday)
    await add_event(
        running,
        starts_at=saturday + timedelta(hours=8),
        event_id="tonight",
        title="Seminar tonight",
        created_at=LONG_AGO,
    )
    await add_event(
        running,
        starts_at=saturday + timedelta(days=5),
        event_id="later",
        title="Seminar next week",
        created_at=LONG_AGO,
    )
    await add_fact(running, "A new beamline at DC-280", saturday - timedelta(hours=1))
    shown = (await running.chat().send("/digest")).text
    assert "Next summary, on Monday 30 November, 09:00 (Asia/Almaty)" in shown
    assert "Seminar next week" in shown
    assert "Seminar tonight" not in shown.split("Next summary")[1], shown
