"""Digests in each chat's language and zone, through the emulator, tick by tick on a manual clock.

A chat's language and zone are written to its row as /language and /settings would write them.
Each digest is rendered once for each language and zone among its chats. A reminder of an event
known only to its day goes to each chat at 09:00 in that chat's zone, across Almaty's change from
UTC+6 to UTC+5 (1 March 2024) and Berlin's change to summer time (29 March 2026).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.digest import words
from bot.emulator import BotApiEmulator
from bot.settings import Settings
from bot.texts import Html, Texts
from storage import digests, subscriptions
from storage.bot_models import Chat, Delivery, Digest, DigestText
from storage.knowledge import Knowledge
from storage.models import Event
from tests.conftest import UNPACED, Running, started
from tests.helpers import START, add_event, received, sends_to, subscribe, tick, tick_at

ALMATY, MOSCOW, BERLIN = (
    ZoneInfo("Asia/Almaty"),
    ZoneInfo("Europe/Moscow"),
    ZoneInfo("Europe/Berlin"),
)
RU_WEEK = "⏰ Напоминание: до начала — 7 дней"
RU_DAY = "⏰ Напоминание: до начала — 1 день"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings, with limits the pacing never has to wait for."""
    return dataclasses.replace(settings, limits=UNPACED)


async def reads(
    running: Running, *chat_ids: int, language: str | None = None, zone: str | None = None
) -> None:
    """The chats read in this language and zone, as /language and /settings set them."""
    async with running.sessions.begin() as session:
        await session.execute(
            update(Chat).where(Chat.id.in_(chat_ids)).values(language=language, zone=zone)
        )


async def texts_of(running: Running, digest_id: str) -> dict[tuple[str, str], str]:
    async with running.sessions() as session:
        rows = await session.execute(
            select(DigestText.language, DigestText.zone, DigestText.text).where(
                DigestText.digest_id == digest_id
            )
        )
        return {(language, zone): text for language, zone, text in rows}


async def delivery(running: Running, digest_id: str, chat_id: int) -> Delivery:
    async with running.sessions() as session:
        found = await session.get(Delivery, (digest_id, chat_id))
    assert found is not None
    return found


async def digest_status(running: Running, digest_id: str) -> str:
    async with running.sessions() as session:
        found = await session.get(Digest, digest_id)
    assert found is not None
    return found.status


def reminder_key(lead: str, starts_at: datetime) -> str:
    return f"reminder:school:{lead}:{starts_at.astimezone(UTC).isoformat()}"


async def test_a_russian_chat_gets_the_reminder_in_russian_an_english_one_in_english(
    running: Running,
) -> None:
    await subscribe(running, 1001, 1002, 1003)
    await reads(running, 1002, language="ru")
    await reads(running, 1003, language="kk")
    await add_event(running)
    await tick_at(running, START - timedelta(days=7))
    [english] = received(running, 1001)
    [russian] = received(running, 1002)
    [kazakh] = received(running, 1003)
    assert english.startswith("⏰ Reminder: in 7 days")
    assert russian.startswith(RU_WEEK)
    assert kazakh.startswith("⏰ Еске салу: 7 күн қалды")
    for text in (english, russian, kazakh):
        assert "Summer school on nuclear physics" in text
    # One digest, its words in each language its chats read.
    key = reminder_key("7d", START)
    assert set(await texts_of(running, key)) == {
        ("en", "Asia/Almaty"),
        ("ru", "Asia/Almaty"),
        ("kk", "Asia/Almaty"),
    }
    for chat_id, language in [(1001, "en"), (1002, "ru"), (1003, "kk")]:
        row = await delivery(running, key, chat_id)
        assert (row.status, row.language, row.zone) == ("sent", language, "Asia/Almaty")


async def test_a_digest_is_rendered_once_per_language_and_zone_not_once_per_chat(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered: list[tuple[str, str]] = []
    reminder = words.reminder

    def counted(
        t: Texts,
        known: Knowledge,
        event: Event,
        *,
        lead: timedelta,
        late_since: datetime | None,
        reader: str,
    ) -> Html:
        rendered.append((t.language, reader))
        return reminder(t, known, event, lead=lead, late_since=late_since, reader=reader)

    monkeypatch.setattr(words, "reminder", counted)
    chats = list(range(2001, 2051))
    await subscribe(running, *chats)
    russian, in_moscow = chats[:25], chats[:10]
    await reads(running, *russian, language="ru")
    await reads(running, *in_moscow, language="ru", zone="Europe/Moscow")
    await add_event(running)
    await tick_at(running, START - timedelta(days=7))
    assert all(len(received(running, chat_id)) == 1 for chat_id in chats)
    pairs = {("en", "Asia/Almaty"), ("ru", "Asia/Almaty"), ("ru", "Europe/Moscow")}
    assert set(await texts_of(running, reminder_key("7d", START))) == pairs
    async with running.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DigestText)) == len(pairs)
    # The English text in the bot's zone is the digest's own, rendered once for both.
    assert sorted(rendered) == sorted(pairs)
    assert received(running, in_moscow[0])[0].startswith(RU_WEEK)
    assert "Дубна" in received(running, in_moscow[0])[0]
    assert "Дубна" not in received(running, russian[-1])[0]


async def test_a_moscow_reader_of_an_almaty_event_sees_the_time_in_dubna_too(
    running: Running,
) -> None:
    await subscribe(running, 1001, 1002, 1003)
    await reads(running, 1002, language="en", zone="Europe/Moscow")
    await reads(running, 1003, language="ru", zone="Europe/Moscow")
    # 12:00 UTC: 17:00 in Almaty (UTC+5), 15:00 in Dubna (UTC+3).
    await add_event(running, starts_at=START)
    await tick_at(running, START - timedelta(hours=1))
    [almaty] = received(running, 1001)
    [moscow] = received(running, 1002)
    [russian] = received(running, 1003)
    assert "🗓 5 December 2026, 17:00 Almaty · 📍 Almaty" in almaty
    assert "🗓 5 December 2026, 17:00 Almaty · 15:00 Dubna · 📍 Almaty" in moscow
    assert "17:00 Алматы · 15:00 Дубна" in russian
    assert "Dubna" not in almaty


async def test_a_day_event_reaches_each_chat_at_nine_in_its_own_zone(running: Running) -> None:
    await subscribe(running, 1001, 1002, lead_times="7d,1d")
    await reads(running, 1002, language="ru", zone="Europe/Moscow")
    await add_event(running, starts_at=datetime(2026, 12, 10, tzinfo=ALMATY), precision="day")
    for day, first in [(3, "⏰ Reminder: in 7 days"), (9, "⏰ Reminder: in 1 day")]:
        count = 1 if day == 3 else 2
        await tick_at(running, datetime(2026, 12, day, 8, 59, 59, tzinfo=ALMATY))
        assert len(received(running, 1001)) == count - 1
        await tick_at(running, datetime(2026, 12, day, 9, 0, tzinfo=ALMATY))
        assert len(received(running, 1001)) == count
        assert received(running, 1001)[-1].startswith(first)
        # Moscow's 09:00 is two hours later: nothing for it yet, and nothing twice for Almaty.
        await tick_at(running, datetime(2026, 12, day, 8, 59, 59, tzinfo=MOSCOW))
        assert len(received(running, 1002)) == count - 1
        await tick_at(running, datetime(2026, 12, day, 9, 0, tzinfo=MOSCOW))
        await tick(running)
        assert len(received(running, 1002)) == count
        assert received(running, 1002)[-1].startswith(RU_WEEK if day == 3 else RU_DAY)
        assert sends_to(running, 1001) == sends_to(running, 1002) == count
    key = reminder_key("1d", datetime(2026, 12, 10, tzinfo=ALMATY))
    assert (await delivery(running, key, 1002)).due_at == datetime(2026, 12, 9, 6, 0, tzinfo=UTC)
    assert await digest_status(running, key) == "done"
    await tick_at(running, datetime(2026, 12, 9, 23, 0, tzinfo=ALMATY))
    assert sends_to(running, 1001) == sends_to(running, 1002) == 2


async def test_nine_in_almaty_follows_its_change_from_utc6_to_utc5(running: Running) -> None:
    """Almaty's clocks went from UTC+6 to UTC+5 on 1 March 2024: 09:00 there was 03:00 UTC on
    24 February and 04:00 UTC on 1 March."""
    await subscribe(running, 1001, 1002, lead_times="7d,1d")
    await reads(running, 1002, zone="Europe/Moscow")
    await tick_at(running, datetime(2024, 2, 20, tzinfo=UTC))
    await add_event(running, starts_at=datetime(2024, 3, 2, tzinfo=ALMATY), precision="day")
    for moment, chat_id, count in [
        (datetime(2024, 2, 24, 3, 0, tzinfo=UTC), 1001, 1),
        (datetime(2024, 2, 24, 6, 0, tzinfo=UTC), 1002, 1),
        (datetime(2024, 3, 1, 4, 0, tzinfo=UTC), 1001, 2),
        (datetime(2024, 3, 1, 6, 0, tzinfo=UTC), 1002, 2),
    ]:
        await tick_at(running, moment - timedelta(seconds=1))
        assert len(received(running, chat_id)) == count - 1
        await tick_at(running, moment)
        await tick(running)
        assert len(received(running, chat_id)) == count
    # An hour before 09:00 under the new offset, there was nothing yet (09:00 under the old).
    assert datetime(2024, 3, 1, 3, 0, tzinfo=UTC).astimezone(ALMATY).hour == 8
    assert [text.split("\n")[0] for text in received(running, 1001)] == [
        "⏰ Reminder: in 7 days",
        "⏰ Reminder: in 1 day",
    ]
    assert "2 March 2024" in received(running, 1002)[-1]
    assert sends_to(running, 1001) == sends_to(running, 1002) == 2


async def test_nine_in_berlin_follows_its_change_to_summer_time(running: Running) -> None:
    """Berlin's clocks go from 02:00 to 03:00 on 29 March 2026: 09:00 there is 08:00 UTC on
    23 March and 07:00 UTC on 29 March; Almaty's stays at 04:00 UTC."""
    await subscribe(running, 1001, 1002, lead_times="7d,1d")
    await reads(running, 1002, language="en", zone="Europe/Berlin")
    await tick_at(running, datetime(2026, 3, 20, tzinfo=UTC))
    await add_event(running, starts_at=datetime(2026, 3, 30, tzinfo=ALMATY), precision="day")
    for moment, chat_id, count in [
        (datetime(2026, 3, 23, 4, 0, tzinfo=UTC), 1001, 1),
        (datetime(2026, 3, 23, 8, 0, tzinfo=UTC), 1002, 1),
        (datetime(2026, 3, 29, 4, 0, tzinfo=UTC), 1001, 2),
        (datetime(2026, 3, 29, 7, 0, tzinfo=UTC), 1002, 2),
    ]:
        assert moment.astimezone(BERLIN if chat_id == 1002 else ALMATY).hour == 9
        await tick_at(running, moment - timedelta(seconds=1))
        assert len(received(running, chat_id)) == count - 1
        await tick_at(running, moment)
        await tick(running)
        assert len(received(running, chat_id)) == count
    assert received(running, 1002)[-1].startswith("⏰ Reminder: in 1 day")
    assert "Sent late" not in received(running, 1002)[-1]
    assert sends_to(running, 1001) == sends_to(running, 1002) == 2


async def test_a_restart_between_the_two_zones_sends_the_second_exactly_once(
    emulator: BotApiEmulator,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    starts = datetime(2026, 12, 10, tzinfo=ALMATY)
    async with started(emulator, settings, sessions, clock) as running:
        await subscribe(running, 1001, 1002, lead_times="1d")
        await reads(running, 1002, language="ru", zone="Europe/Moscow")
        await add_event(running, starts_at=starts, precision="day")
        await tick_at(running, datetime(2026, 12, 9, 9, 0, tzinfo=ALMATY))
        assert len(received(running, 1001)) == 1
        assert received(running, 1002) == []
    # The bot stops and starts again on the same database, before Moscow's 09:00 and after.
    async with started(emulator, settings, sessions, clock) as running:
        await tick_at(running, datetime(2026, 12, 9, 8, 59, tzinfo=MOSCOW))
        assert received(running, 1002) == []
        await tick_at(running, datetime(2026, 12, 9, 9, 0, tzinfo=MOSCOW))
        await tick(running)
        running.clock.advance(timedelta(hours=1))
        await tick(running)
        assert [text.split("\n")[0] for text in received(running, 1002)] == [RU_DAY]
        assert sends_to(running, 1001) == sends_to(running, 1002) == 1
        assert await digest_status(running, reminder_key("1d", starts)) == "done"


async def test_a_chat_that_unsubscribes_between_the_zones_gets_nothing(running: Running) -> None:
    starts = datetime(2026, 12, 10, tzinfo=ALMATY)
    await subscribe(running, 1001, 1002, 1003, lead_times="1d")
    await reads(running, 1002, 1003, zone="Europe/Moscow")
    await add_event(running, starts_at=starts, precision="day")
    await tick_at(running, datetime(2026, 12, 9, 9, 0, tzinfo=ALMATY))
    async with running.sessions.begin() as session:
        await subscriptions.unsubscribe(session, 1002, now=running.clock.now())
    await tick_at(running, datetime(2026, 12, 9, 9, 0, tzinfo=MOSCOW))
    assert received(running, 1002) == []
    assert len(received(running, 1003)) == 1
    key = reminder_key("1d", starts)
    row = await delivery(running, key, 1002)
    assert (row.status, row.error) == ("skipped", "no longer subscribed")
    assert await digest_status(running, key) == "done"


async def test_an_event_added_between_the_zones_is_reminded_only_where_nine_is_ahead(
    running: Running,
) -> None:
    """Added after 09:00 in Almaty, before it in Moscow: Almaty is not told late, Moscow is
    told at its 09:00."""
    starts = datetime(2026, 12, 10, tzinfo=ALMATY)
    await subscribe(running, 1001, 1002, lead_times="1d")
    await reads(running, 1002, zone="Europe/Moscow")
    added = datetime(2026, 12, 9, 10, 0, tzinfo=ALMATY)
    running.clock.set(added)
    await add_event(running, starts_at=starts, precision="day")
    async with running.sessions.begin() as session:
        await session.execute(update(Event).values(scheduled_since=added))
    await tick(running)
    assert received(running, 1001) == received(running, 1002) == []
    await tick_at(running, datetime(2026, 12, 9, 9, 0, tzinfo=MOSCOW))
    [reminder] = received(running, 1002)
    assert reminder.startswith("⏰ Reminder: in 1 day")
    assert "Sent late" not in reminder
    assert received(running, 1001) == []
    row = await delivery(running, reminder_key("1d", starts), 1001)
    assert (row.status, row.error) == ("skipped", "due before the event was scheduled")


async def test_a_place_changed_between_the_zones_reaches_the_later_one_as_it_now_is(
    running: Running,
) -> None:
    """The chat already reminded gets the notice of the change; the one whose 09:00 is still
    ahead gets, at its 09:00 and in its language, the reminder with the new place, once."""
    starts = datetime(2026, 12, 10, tzinfo=ALMATY)
    await subscribe(running, 1001, 1002, lead_times="1d")
    await reads(running, 1002, language="ru", zone="Europe/Moscow")
    await add_event(running, starts_at=starts, precision="day")
    await tick_at(running, datetime(2026, 12, 9, 9, 0, tzinfo=ALMATY))
    async with running.sessions.begin() as session:
        await session.execute(update(Event).values(place="Astana"))
    await tick_at(running, datetime(2026, 12, 9, 9, 30, tzinfo=ALMATY))
    assert [text.split("\n")[0] for text in received(running, 1001)] == [
        "⏰ Reminder: in 1 day",
        "🔄 Changed: place",
    ]
    assert received(running, 1002) == []
    await tick_at(running, datetime(2026, 12, 9, 8, 59, tzinfo=MOSCOW))
    assert received(running, 1002) == []
    await tick_at(running, datetime(2026, 12, 9, 9, 0, tzinfo=MOSCOW))
    await tick(running)
    [reminder] = received(running, 1002)
    assert reminder.startswith(RU_DAY)
    assert "Astana" in reminder
    assert len(received(running, 1001)) == 2


async def test_the_readers_zones_are_asked_for_only_when_a_days_nine_may_have_come(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The query over every subscriber runs only once a reminder not yet made may be due on
    the earliest clock (UTC+14), not on every tick of the days around a day's event."""
    asked: list[datetime] = []
    reader_zones = digests.reader_zones

    async def counted(session: AsyncSession, *, zone: str, channel_id: int | None) -> set[str]:
        asked.append(running.clock.now())
        return await reader_zones(session, zone=zone, channel_id=channel_id)

    monkeypatch.setattr(digests, "reader_zones", counted)
    await subscribe(running, 1001, lead_times="1d")
    await add_event(running, starts_at=datetime(2026, 12, 10, tzinfo=ALMATY), precision="day")
    # 09:00 on 3 and 9 December comes first at 19:00 UTC the day before, in UTC+14.
    for day in (3, 9):
        asked.clear()
        for moment in [
            datetime(2026, 12, day - 2, 12, 0, tzinfo=UTC),
            datetime(2026, 12, day - 1, 18, 59, tzinfo=UTC),
        ]:
            await tick_at(running, moment)
        assert asked == []
        await tick_at(running, datetime(2026, 12, day - 1, 19, 0, tzinfo=UTC))
        assert len(asked) == 1
        # Made at 09:00 in Almaty, the earliest reader's: then no more asking.
        await tick_at(running, datetime(2026, 12, day, 9, 0, tzinfo=ALMATY))
        asked.clear()
        await tick_at(running, datetime(2026, 12, day, 12, 0, tzinfo=ALMATY))
        assert asked == []
    assert [text.split("\n")[0] for text in received(running, 1001)] == ["⏰ Reminder: in 1 day"]


async def test_a_moved_time_is_told_in_the_readers_zone_too(running: Running) -> None:
    await subscribe(running, 1001, 1002)
    await reads(running, 1002, language="en", zone="Europe/Moscow")
    await add_event(running, starts_at=START)
    await tick_at(running, START - timedelta(hours=1))
    async with running.sessions.begin() as session:
        await session.execute(update(Event).values(starts_at=START + timedelta(hours=2)))
    await tick(running)
    [almaty] = [text for text in received(running, 1001) if text.startswith("🔄 Changed")]
    [moscow] = [text for text in received(running, 1002) if text.startswith("🔄 Changed")]
    assert "🕒 Time: 17:00 → 19:00\n" in almaty
    assert "🕒 Time: 17:00 Almaty · 15:00 Dubna → 19:00 Almaty · 17:00 Dubna" in moscow
