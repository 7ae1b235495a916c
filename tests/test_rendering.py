"""Dates at their true precision, countdowns, and escaping of every piece of data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import rendering
from bot.texts import Html, escape, texts_for
from bot.wording import Wording
from storage.events import period_end
from storage.models import Event, Fact, Role
from storage.search import MATCH_END, MATCH_START, Hit


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
    assert rendering.when(event(datetime(2023, 11, 1), "month")) == "November 2023"


def test_a_day_range_in_one_month_is_written_as_the_source_does() -> None:
    shown = rendering.when(event(datetime(2023, 10, 2), "day", datetime(2023, 10, 3)))
    assert shown == "2–3 October 2023"


def test_a_day_range_across_months_names_both() -> None:
    shown = rendering.when(event(datetime(2023, 10, 30), "day", datetime(2023, 11, 2)))
    assert shown == "30 October 2023 – 2 November 2023"


def test_a_time_is_shown_in_the_events_own_zone() -> None:
    shown = rendering.when(event(datetime(2026, 12, 1, 10, 0), "minute"))
    assert shown == "1 December 2026, 10:00 (Asia/Almaty)"


def test_an_end_with_a_time_is_shown_with_its_time() -> None:
    school = event(datetime(2030, 3, 4, 10, 0), "minute", datetime(2030, 3, 8, 18, 0))
    assert rendering.when(school) == "4 March 2030, 10:00 – 8 March 2030, 18:00 (Asia/Almaty)"
    talk = event(datetime(2030, 3, 4, 10, 0), "minute", datetime(2030, 3, 4, 11, 30))
    assert rendering.when(talk) == "4 March 2030, 10:00–11:30 (Asia/Almaty)"


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
    assert rendering.countdown(delta, precision=precision) == expected


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
