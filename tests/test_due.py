"""What is due when: reminder decisions and summary fire times, computed from a given now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.digest.due import (
    Reminder,
    latest_fire,
    leads_for,
    next_reminder,
    not_for,
    reminder_moments,
    reminders_due,
    summary_trigger,
    upcoming_reminders,
    zoned_moments,
)

# No database: run on the SQLite pass only (tests/conftest.py).
pytestmark = pytest.mark.no_database

WEEK, DAY, HOUR = timedelta(days=7), timedelta(days=1), timedelta(hours=1)
LEADS = (WEEK, DAY, HOUR)
TICK = timedelta(seconds=30)
START = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
ALMATY = ZoneInfo("Asia/Almaty")


@dataclass(frozen=True)
class Dated:
    """An event as reminders see it."""

    starts_at: datetime
    precision: str = "minute"
    zone: str = "Asia/Almaty"


MOMENTS = reminder_moments(Dated(START), LEADS)


def due(now: datetime, created: set[timedelta] | None = None) -> list[Reminder]:
    return reminders_due(START, moments=MOMENTS, created=created or set(), now=now, tick=TICK)


def test_nothing_is_due_before_the_longest_lead() -> None:
    assert due(START - WEEK - timedelta(seconds=1)) == []


def test_a_reminder_on_its_moment_is_sent_and_not_late() -> None:
    assert due(START - DAY, created={WEEK}) == [
        Reminder(lead=DAY, due_at=START - DAY, send=True, late=False)
    ]


def test_after_downtime_only_the_latest_due_reminder_is_sent_the_rest_recorded() -> None:
    now = START - timedelta(hours=20)
    assert due(now) == [
        Reminder(lead=WEEK, due_at=START - WEEK, send=False, late=False),
        Reminder(lead=DAY, due_at=START - DAY, send=True, late=True),
    ]


def test_late_means_more_than_two_ticks_after_the_moment() -> None:
    assert due(START - DAY + 2 * TICK, created={WEEK})[0].late is False
    assert due(START - DAY + 2 * TICK + timedelta(seconds=1), created={WEEK})[0].late is True


def test_an_older_lead_missing_after_a_newer_one_was_sent_is_only_recorded() -> None:
    assert due(START - HOUR, created={DAY, HOUR}) == [
        Reminder(lead=WEEK, due_at=START - WEEK, send=False, late=False)
    ]


def test_once_the_event_has_begun_every_missing_reminder_is_skipped() -> None:
    assert [r.send for r in due(START)] == [False, False, False]
    assert due(START, created=set(LEADS)) == []


def test_a_day_or_month_event_gets_no_reminder_finer_than_a_day() -> None:
    assert leads_for("minute", LEADS) == list(LEADS)
    assert leads_for("day", LEADS) == [WEEK, DAY]
    assert leads_for("month", LEADS) == [WEEK, DAY]


def test_an_exact_event_is_reminded_exactly_each_lead_before_it() -> None:
    assert MOMENTS == {WEEK: START - WEEK, DAY: START - DAY, HOUR: START - HOUR}


def test_an_event_known_to_the_day_is_reminded_at_nine_local_not_at_midnight() -> None:
    # 1 December 2026 in Almaty (UTC+5) begins at 19:00 UTC on 30 November.
    day = Dated(datetime(2026, 11, 30, 19, 0, tzinfo=UTC), precision="day")
    assert reminder_moments(day, LEADS) == {
        WEEK: datetime(2026, 11, 24, 9, 0, tzinfo=ALMATY),
        DAY: datetime(2026, 11, 30, 9, 0, tzinfo=ALMATY),
    }


def test_an_event_known_to_the_month_is_reminded_at_nine_on_the_days_before_it() -> None:
    month = Dated(datetime(2026, 11, 30, 19, 0, tzinfo=UTC), precision="month")
    assert reminder_moments(month, LEADS)[DAY] == datetime(2026, 11, 30, 9, 0, tzinfo=ALMATY)


def test_a_day_before_a_dst_change_is_the_calendar_day_before_at_nine() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # Clocks went forward on 29 March 2026: 30 March began 23 hours after 29 March.
    day = Dated(datetime(2026, 3, 30, tzinfo=berlin), precision="day", zone="Europe/Berlin")
    moments = reminder_moments(day, LEADS)
    assert moments[DAY] == datetime(2026, 3, 29, 9, 0, tzinfo=berlin)
    assert moments[WEEK] == datetime(2026, 3, 23, 9, 0, tzinfo=berlin)
    assert (
        moments[DAY].astimezone(berlin).utcoffset() != moments[WEEK].astimezone(berlin).utcoffset()
    )


def test_a_day_event_is_reminded_at_nine_in_each_readers_zone_on_its_zones_day() -> None:
    # 2 March 2024 in Almaty; Almaty went from UTC+6 to UTC+5 on 1 March 2024.
    day = Dated(datetime(2024, 3, 2, tzinfo=ALMATY), precision="day")
    zoned = zoned_moments(day, LEADS, ["Asia/Almaty", "Europe/Moscow"])
    assert zoned[WEEK] == {
        "Asia/Almaty": datetime(2024, 2, 24, 3, 0, tzinfo=UTC),
        "Europe/Moscow": datetime(2024, 2, 24, 6, 0, tzinfo=UTC),
    }
    assert zoned[DAY] == {
        "Asia/Almaty": datetime(2024, 3, 1, 4, 0, tzinfo=UTC),
        "Europe/Moscow": datetime(2024, 3, 1, 6, 0, tzinfo=UTC),
    }
    # The first moment is the earliest reader's; an exact event's is the same for all.
    assert (
        reminder_moments(day, LEADS, ["Europe/Moscow", "Asia/Almaty"])[DAY]
        == zoned[DAY]["Asia/Almaty"]
    )
    assert set(zoned_moments(Dated(START), LEADS, ["Europe/Moscow"])[HOUR].values()) == {
        START - HOUR
    }


def test_a_reminder_missed_where_nine_has_passed_is_still_due_where_it_is_ahead() -> None:
    day = Dated(datetime(2026, 12, 10, tzinfo=ALMATY), precision="day")
    zoned = zoned_moments(day, LEADS, ["Asia/Almaty", "Europe/Moscow"])
    almaty, moscow = zoned[DAY]["Asia/Almaty"], zoned[DAY]["Europe/Moscow"]
    added = almaty + HOUR

    def reminders(last: bool) -> list[Reminder]:
        return reminders_due(
            day.starts_at,
            moments={lead: min(at.values()) for lead, at in zoned.items()},
            last={lead: max(at.values()) for lead, at in zoned.items()} if last else None,
            created=set(),
            now=added,
            tick=TICK,
            known_since=added,
        )

    assert [(r.lead, r.send) for r in reminders(last=True)] == [(WEEK, False), (DAY, True)]
    assert [(r.lead, r.send) for r in reminders(last=False)] == [(WEEK, False), (DAY, False)]
    assert not_for(almaty, starts_at=day.starts_at, known_since=added) is not None
    assert not_for(moscow, starts_at=day.starts_at, known_since=added) is None
    # A reader whose 09:00 comes once the event has begun is not sent it.
    assert not_for(day.starts_at, starts_at=day.starts_at, known_since=None) is not None


def test_the_next_reminder_is_the_soonest_still_ahead() -> None:
    assert next_reminder(MOMENTS, now=START - WEEK) == (DAY, START - DAY)
    assert next_reminder(MOMENTS, now=START - HOUR) is None


@dataclass(frozen=True)
class Listed(Dated):
    """An event as a list of reminders names it."""

    id: str = "event"


def test_upcoming_reminders_go_soonest_first_then_by_start_then_by_id() -> None:
    now = START - WEEK
    c, b = Listed(START, id="c"), Listed(START, id="b")
    # Its 7-day reminder falls with the 1-day ones of b and c, and it starts later.
    later = Listed(START + WEEK - DAY, id="a")
    sooner = Listed(START - HOUR, id="z")
    imminent = Listed(now + timedelta(minutes=30), id="imminent")
    ahead = upcoming_reminders([c, later, imminent, sooner, b], LEADS, now=now)
    assert ahead == [
        (START - HOUR - DAY, DAY, sooner),
        (START - DAY, DAY, b),
        (START - DAY, DAY, c),
        (START - DAY, WEEK, later),
    ]


def test_latest_fire_after_a_year_of_downtime_on_a_minutely_crontab() -> None:
    trigger = summary_trigger("* * * * *", ALMATY)
    now = datetime(2026, 11, 30, 4, 0, 30, tzinfo=UTC)
    fire = latest_fire(trigger, until=now, after=now - timedelta(days=365))
    assert fire == datetime(2026, 11, 30, 4, 0, tzinfo=UTC)


def test_latest_fire_counts_a_fire_at_exactly_now_and_none_after_the_last() -> None:
    trigger = summary_trigger("0 9 * * mon", ALMATY)
    monday = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    assert latest_fire(trigger, until=monday) == monday
    assert latest_fire(trigger, until=monday + DAY, after=monday) is None
    assert latest_fire(trigger, until=monday - timedelta(seconds=1)) == monday - WEEK


def test_latest_fire_of_a_yearly_crontab_months_back() -> None:
    trigger = summary_trigger("0 9 1 1 *", ALMATY)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    assert latest_fire(trigger, until=now) == datetime(2026, 1, 1, 9, 0, tzinfo=ALMATY)
    assert latest_fire(trigger, until=now, after=datetime(2026, 2, 1, tzinfo=UTC)) is None
