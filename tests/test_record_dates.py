"""The record's events against the notes they were curated from: each row of the notes' table of
events (section C) whose page is a source is an event of the content, dated as the row states
it, no more precisely; a row whose year is not stated is no event at all."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import RECORD

# No database: run on the SQLite pass only (tests/conftest.py).
pytestmark = pytest.mark.no_database

NOTES = Path("/work/shared/sources/jinr-kazakhstan-notes.md")
MONTHS = {
    name: number
    for number, name in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
# "14–18 Jun 2016", "19 Nov 2009", "week of 25 Apr 2022", "30 Sep 2022"
STATED = re.compile(r"(\d{1,2})(?:\s*[–-]\s*(\d{1,2}))?\s+([A-Z][a-z]{2})\w*\s+(\d{4})")
# The row gives the day of a page, not of the event: the content dates it to the month.
PAGE_DATED = ("published", "page dated", "reported")


def rows() -> list[tuple[str, str, list[str]]]:
    """Section C's rows: what, when as stated, and the addresses of their sources."""
    text = NOTES.read_text(encoding="utf-8")
    table = text.split("## C. Table of events", 1)[1].split("\n## ", 1)[0]
    found = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("What", "---") or set(cells[0]) <= {"-"}:
            continue
        what, _, when, source = cells
        found.append((what, when, re.findall(r"https?://\S+?(?=\s|;|$)", source)))
    return found


def sources_by_url() -> dict[str, str]:
    return {
        source["url"].rstrip("/"): source["id"] for source in RECORD.sources if source.get("url")
    }


def local_day(event: dict[str, object], column: str) -> date:
    moment = event[column]
    assert isinstance(moment, datetime)
    zone = event["zone"]
    assert isinstance(zone, str)
    return moment.astimezone(ZoneInfo(zone)).date()


@pytest.fixture(scope="module")
def table() -> list[tuple[str, str, list[str]]]:
    if not NOTES.exists():
        pytest.skip("the notes are not on this machine")
    found = rows()
    assert len(found) >= 20, "the notes' table of events was read"
    return found


def test_each_dated_row_of_the_notes_is_an_event_dated_as_stated(
    table: list[tuple[str, str, list[str]]],
) -> None:
    by_url = sources_by_url()
    checked = 0
    for what, when, urls in table:
        cited = [by_url[url.rstrip("/")] for url in urls if url.rstrip("/") in by_url]
        stated = STATED.search(when)
        # A report whose meeting dates are not given at all (APCTP, 2015) is told as facts.
        if not cited or stated is None or "not stated" in when or "not given" in when:
            continue
        first, last, month, year = stated.groups()
        start = date(int(year), MONTHS[month], int(first))
        events = [e for e in RECORD.events if e["source_id"] in cited]
        assert events, f"no event cites the page of {what!r}"
        if any(word in when for word in PAGE_DATED):
            assert any(
                e["precision"] == "month"
                and local_day(e, "starts_at").replace(day=1) == start.replace(day=1)
                for e in events
            ), f"{what!r} ({when}): dated to its month, as the page does not give the day"
        else:
            starts = {local_day(e, "starts_at") for e in events if e["precision"] == "day"}
            assert start in starts, f"{what!r} ({when}): no event starts on {start}"
            if last is not None:
                end = start.replace(day=int(last))
                ends = {local_day(e, "ends_at") for e in events if e["ends_at"] is not None}
                assert end in ends, f"{what!r} ({when}): no event ends on {end}"
        checked += 1
    assert checked >= 15


def test_a_row_whose_year_is_not_stated_is_no_event(
    table: list[tuple[str, str, list[str]]],
) -> None:
    by_url = sources_by_url()
    for what, when, urls in table:
        if "year not stated" not in when:
            continue
        cited = {by_url[url.rstrip("/")] for url in urls if url.rstrip("/") in by_url}
        assert not [e for e in RECORD.events if e["source_id"] in cited], what


def test_no_event_is_dated_more_precisely_than_to_the_day() -> None:
    """No page in the notes gives a time of day."""
    assert {event["precision"] for event in RECORD.events} <= {"day", "month"}
