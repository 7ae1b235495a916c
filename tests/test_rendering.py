"""Dates at their true precision, countdowns, and escaping of every piece of data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import rendering
from bot.reader import dates
from bot.reader.wording import Wording
from bot.texts import Html, escape, texts_for
from storage.events import period_end
from storage.models import Event, Fact, Role
from storage.search import MATCH_END, MATCH_START, Hit

# No database: run on the SQLite pass only (tests/conftest.py).
pytestmark = pytest.mark.no_database


def event(starts: datetime, precision: str, ends: datetime | None = None) -> Event:
    zone = "Asia/Almaty"
    return Event(
        id="e",
        title="T",
        description="D",
        place="P",
        zone=zone,
        precision=precision,
        starts_at=starts.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC),
        ends_at=ends.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC) if ends else None,
        source_id="s",
    )


def test_a_month_is_shown_as_a_month_never_a_day() -> None:
    assert dates.when(event(datetime(2023, 11, 1), "month")) == "November 2023"


def test_a_day_range_in_one_month_is_written_as_the_source_does() -> None:
    shown = dates.when(event(datetime(2023, 10, 2), "day", datetime(2023, 10, 3)))
    assert shown == "2–3 October 2023"


def test_a_day_range_across_months_names_both() -> None:
    shown = dates.when(event(datetime(2023, 10, 30), "day", datetime(2023, 11, 2)))
    assert shown == "30 October 2023 – 2 November 2023"


def test_a_time_is_shown_in_the_events_own_zone() -> None:
    shown = dates.when(event(datetime(2026, 12, 1, 10, 0), "minute"))
    assert shown == "1 December 2026, 10:00 Almaty"


def test_an_end_with_a_time_is_shown_with_its_time() -> None:
    school = event(datetime(2030, 3, 4, 10, 0), "minute", datetime(2030, 3, 8, 18, 0))
    assert dates.when(school) == "4 March 2030, 10:00 – 8 March 2030, 18:00 Almaty"
    talk = event(datetime(2030, 3, 4, 10, 0), "minute", datetime(2030, 3, 4, 11, 30))
    assert dates.when(talk) == "4 March 2030, 10:00–11:30 Almaty"


def test_a_reader_in_another_zone_gets_their_time_beside_the_events() -> None:
    talk = event(datetime(2026, 12, 1, 10, 0), "minute", datetime(2026, 12, 1, 11, 30))
    shown = dates.when(talk, reader="Europe/Moscow")
    assert shown == "1 December 2026, 10:00–11:30 Almaty · 08:00–09:30 Dubna"
    # The same wall time in another zone of the same offset is said once.
    assert dates.when(talk, reader="Asia/Qostanay") == "1 December 2026, 10:00–11:30 Almaty"
    late = event(datetime(2026, 12, 2, 1, 0), "minute")
    assert dates.when(late, reader="Europe/Moscow", language="ru") == (
        "2 декабря 2026\u202fг., 01:00 Алматы · 1 декабря, 23:00 Дубна"
    )


def test_almatys_change_to_utc_plus_5_moves_the_dubna_time_not_the_almaty_one() -> None:
    # Almaty was UTC+6 until 1 March 2024 and is UTC+5 since; Dubna stays UTC+3.
    before = dates.when(event(datetime(2024, 2, 29, 10, 0), "minute"), reader="Europe/Moscow")
    after = dates.when(event(datetime(2024, 3, 1, 10, 0), "minute"), reader="Europe/Moscow")
    assert before == "29 February 2024, 10:00 Almaty · 07:00 Dubna"
    assert after == "1 March 2024, 10:00 Almaty · 08:00 Dubna"


def test_a_readers_summer_time_is_followed() -> None:
    # Berlin moves to UTC+2 on 29 March 2026: an Almaty 12:00 is 08:00 then 09:00 in Berlin.
    winter = dates.when(event(datetime(2026, 3, 28, 12, 0), "minute"), reader="Europe/Berlin")
    summer = dates.when(event(datetime(2026, 3, 30, 12, 0), "minute"), reader="Europe/Berlin")
    assert winter.endswith("12:00 Almaty · 08:00 Berlin")
    assert summer.endswith("12:00 Almaty · 09:00 Berlin")


def test_dates_are_written_by_each_languages_own_rules() -> None:
    november = event(datetime(2023, 11, 1), "month")
    assert dates.when(november, language="ru") == "ноябрь 2023\u202fг."
    assert dates.when(november, language="kk") == "2023\u202fж. қараша"
    visit = event(datetime(2023, 10, 2), "day", datetime(2023, 10, 3))
    assert dates.when(visit, language="ru") == "2–3 октября 2023\u202fг."
    assert dates.when(visit, language="kk") == "2023\u202fж. 2–3 қазан"


@pytest.mark.parametrize(
    ("delta", "precision", "expected"),
    [
        (timedelta(days=6, hours=4, minutes=3), "minute", "6 days and 4 hours"),
        (timedelta(hours=2, minutes=30), "minute", "2 hours and 30 minutes"),
        (timedelta(seconds=20), "minute", "1 minute"),
        (timedelta(days=2, hours=1), "day", "2 days"),
    ],
)
def test_countdown_is_no_finer_than_the_date(
    delta: timedelta, precision: str, expected: str
) -> None:
    assert dates.countdown(delta, precision=precision) == expected


def test_a_month_event_lasts_to_the_end_of_its_month_in_its_zone() -> None:
    start = datetime(2023, 11, 1, tzinfo=ZoneInfo("Asia/Almaty")).astimezone(UTC)
    end = period_end(start, precision="month", zone="Asia/Almaty")
    assert end == datetime(2023, 12, 1, tzinfo=ZoneInfo("Asia/Almaty"))


def test_data_is_escaped_but_ready_markup_is_not() -> None:
    w = Wording.curated(texts_for("en"))
    shown = rendering.fact(w, Fact(title="<b>x</b> & y", text="a < b"))
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in shown
    assert "a &lt; b" in shown
    assert shown.startswith("<b>")
    assert escape(Html("<i>ok</i>")) == "<i>ok</i>"


def test_search_snippet_is_escaped_before_matches_are_bolded() -> None:
    w = Wording.curated(texts_for("en"))
    snippet = f"a <tag> and {MATCH_START}DIRAC{MATCH_END} & more"
    shown = rendering.hit(w, Hit("fact", "f", "Title <x>", snippet), None)
    assert "a &lt;tag&gt; and <b>DIRAC</b> &amp; more" in shown
    assert "Title &lt;x&gt;" in shown


def test_a_role_names_each_of_its_bodies_once() -> None:
    def role(title: str, bodies: str | None) -> Role:
        return Role(role=title, organisation=bodies, as_of=date(2023, 10, 1))

    w = Wording.curated(texts_for("en"))

    assert rendering.role_text(w, role("Vice-Director", "JINR")) == "Vice-Director, JINR"
    assert rendering.role_text(w, role("JINR Director", "JINR")) == "JINR Director"
    assert (
        rendering.role_text(w, role("Vice-President of NAS RK", None))
        == "Vice-President of NAS RK"
    )
    both = role(
        "Plenipotentiary of the Government of RK in JINR; Director General of INP",
        "Government of RK; INP; Ministry of Energy of RK",
    )
    assert rendering.role_text(w, both) == (
        "Plenipotentiary of the Government of RK in JINR; Director General of INP, "
        "Ministry of Energy of RK"
    )
