"""The curated content loads, says only what its source says, and broken files are explained."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.curation.content import ContentError
from bot.curation.loading import load_content
from storage.db import session_factory
from storage.models import Event
from storage.sync import sync_content

CONTENT = Path(__file__).resolve().parent.parent / "content"
ARTICLE = CONTENT / "sources" / "jinr-2023-10-04-agreement-of-intent.txt"

DELEGATION = [
    "Kunsulu Zakarya",
    "Abay Serikkanov",
    "Ruslan Nurlybaev",
    "Maxat Bulenbayev",
    "Sayabek Sakhiyev",
    "Yedil Khozeuly",
]
JINR_SIDE = [
    "Grigory Trubnikov",
    "Sergey Dmitriev",
    "Sergey Nedelko",
    "Otilia Ana Culicov",
    "Sergey Sidorchuk",
]
FACILITIES = [
    "Factory of superconducting magnets",
    "Booster accelerator",
    "MPD detector of the NICA Megascience Project",
    "IBR-2 Research Reactor",
    "Laboratory of Radiation Biology",
    "Superheavy Element Factory",
    "Assembly shop of the Baikal-GVD Neutrino Telescope",
    "Govorun Supercomputer",
]


def appears_in_article(phrase: str) -> bool:
    """Verbatim, allowing only a capital first letter where the article runs mid-sentence."""
    article = ARTICLE.read_text(encoding="utf-8")
    return phrase in article or phrase[0].lower() + phrase[1:] in article


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """A private copy of content/ that a test may break."""
    return Path(shutil.copytree(CONTENT, tmp_path / "content"))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_content(folder)
    return caught.value.problems


def test_source_file_is_a_byte_identical_copy_of_the_article() -> None:
    seed = Path("/work/shared/seeds/000_ccf8684cef29bc6c.txt")
    if not seed.exists():
        pytest.skip("the shared seed is not on this machine")
    assert ARTICLE.read_bytes() == seed.read_bytes()


def test_real_content_loads_without_problems() -> None:
    records = load_content(CONTENT)

    assert len(records.sources) >= 29, "a source for every page of the notes with an address"
    assert records.topics
    assert len(records.facts) >= 24
    cited = {item["source_id"] for kind in (records.facts, records.events) for item in kind}
    assert cited <= {source["id"] for source in records.sources}


def test_every_participant_named_in_the_article_is_listed_and_nobody_else() -> None:
    records = load_content(CONTENT)
    people = {person["id"]: person for person in records.people}
    visit = next(event for event in records.events if event["id"] == "nas-rk-visit-2023")
    at_the_visit = [people[part.strip()] for part in visit["people"].split(";")]

    names = {
        side: [p["name"] for p in at_the_visit if p["side"] == side]
        for side in ("kazakhstan", "jinr")
    }
    assert names == {"kazakhstan": DELEGATION, "jinr": JINR_SIDE}
    assert all(appears_in_article(name) for name in DELEGATION + JINR_SIDE)


def test_every_facility_visited_is_listed_under_the_article_s_own_name() -> None:
    facilities = [
        facility
        for facility in load_content(CONTENT).facilities
        if facility["source_id"] == "jinr-2023-10-04-agreement-of-intent"
    ]

    assert [facility["name"] for facility in facilities] == FACILITIES
    assert all(appears_in_article(name) for name in FACILITIES)


def test_quoted_words_are_the_speaker_s_own() -> None:
    facts = load_content(CONTENT).facts

    quotes = [q for fact in facts for q in re.findall(r"“(.+?)”", fact["title"] + fact["text"])]
    assert len(quotes) >= 4
    # A quote may end in a full stop where the article's sentence went on with a comma.
    assert all(appears_in_article(quote.rstrip(".,")) for quote in quotes)


def test_event_dates_are_no_more_precise_than_the_article() -> None:
    events = {event["id"]: event for event in load_content(CONTENT).events}

    visit, session = events["nas-rk-visit-2023"], events["cp-session-2023"]
    assert visit["precision"] == "day"
    assert visit["starts_at"] == datetime(2023, 10, 1, 21, 0, tzinfo=UTC)
    assert visit["ends_at"] == datetime(2023, 10, 2, 21, 0, tzinfo=UTC)
    assert session["precision"] == "month"
    assert session["ends_at"] is None


def test_a_local_time_is_read_to_the_minute_in_the_event_s_zone(content: Path) -> None:
    edit(content / "events.toml", 'starts = "2023-10-02"', 'starts = "2026-12-01T10:00"')
    edit(content / "events.toml", 'ends = "2023-10-03"', 'ends = "2026-12-01T12:30"')

    visit = load_content(content).events[0]

    assert visit["precision"] == "minute"
    assert visit["starts_at"] == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
    assert visit["ends_at"] == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def test_a_local_time_the_clocks_skip_is_a_problem(content: Path) -> None:
    edit(content / "events.toml", 'zone = "Europe/Moscow"', 'zone = "Europe/Berlin"')
    edit(content / "events.toml", 'starts = "2023-10-02"', 'starts = "2026-03-29T02:30"')
    edit(content / "events.toml", 'ends = "2023-10-03"', 'ends = "2026-03-29T04:00"')

    assert problems_of(content) == [
        "events.toml: event 'nas-rk-visit-2023' field 'starts': '2026-03-29T02:30' does not "
        "exist in Europe/Berlin: the clocks skip it (pick another time)"
    ]


async def test_month_precision_event_is_stored_as_a_month(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        await sync_content(session, load_content(CONTENT))

    async with sessions() as session:
        event = await session.get_one(Event, "cp-session-2023")
    assert event.precision == "month"
    assert event.zone == "Asia/Almaty"
    # Midnight on 1 November 2023 in Almaty (UTC+6 then), the first instant of the month.
    assert event.starts_at == datetime(2023, 10, 31, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("file", "old", "new", "expected"),
    [
        pytest.param(
            "facts.toml",
            'id = "agreement-signed-during-visit"',
            'id = "agreement-signed"',
            "facts.toml: fact 'agreement-signed' field 'id': duplicate id",
            id="duplicate id",
        ),
        pytest.param(
            "people.toml",
            'source = "jinr-2023-10-04-agreement-of-intent"',
            'source = "jinr-2023-10-04-agreement"',
            "people.toml: person 'kunsulu-zakarya' field 'source': unknown source "
            "'jinr-2023-10-04-agreement' (did you mean 'jinr-2023-10-04-agreement-of-intent'?)",
            id="missing source",
        ),
        pytest.param(
            "facts.toml",
            'topic = "agreement"',
            'topic = "agreements-and-more"',
            "facts.toml: fact 'agreement-signed' field 'topic': unknown topic",
            id="missing topic",
        ),
        pytest.param(
            "facilities.toml",
            "description = ",
            "descripton = ",
            "facilities.toml: facility 'superconducting-magnet-factory' field 'descripton': "
            "unknown field (did you mean 'description'?)",
            id="unknown field",
        ),
        pytest.param(
            "events.toml",
            'zone = "Asia/Almaty"',
            'zone = "Asia/Almati"',
            "events.toml: event 'cp-session-2023' field 'zone': unknown time zone 'Asia/Almati' "
            "(use an IANA name such as 'Asia/Almaty')",
            id="bad zone",
        ),
        pytest.param(
            "events.toml",
            'starts = "2023-11"',
            'starts = "2023-13"',
            "events.toml: event 'cp-session-2023' field 'starts': '2023-13' is not a valid date",
            id="bad date",
        ),
        pytest.param(
            "events.toml",
            'ends = "2023-10-03"',
            'ends = "2023-10-01"',
            "events.toml: event 'nas-rk-visit-2023' field 'ends': '2023-10-01' is before starts",
            id="ends before starts",
        ),
        pytest.param(
            "events.toml",
            'ends = "2023-10-03"',
            'ends = "2023-10"',
            "events.toml: event 'nas-rk-visit-2023' field 'ends': is given to the month",
            id="mixed precision",
        ),
        pytest.param(
            "topics.toml",
            'title = "Next steps"',
            'title = "Next steps',
            "topics.toml: invalid TOML: ",
            id="TOML syntax",
        ),
        pytest.param(
            "people.toml",
            'side = "jinr"',
            'side = "JINR"',
            "people.toml: person 'grigory-trubnikov' field 'side': 'JINR' is not allowed",
            id="bad side",
        ),
        pytest.param(
            "sources.toml",
            "published = 2023-10-04",
            'published = "2023-10-04"',
            "sources.toml: source 'jinr-2023-10-04-agreement-of-intent' field 'published'",
            id="date as a string",
        ),
        pytest.param(
            "sources.toml",
            'url = "https://www.jinr.ru/posts/',
            'url = "ftp://www.jinr.ru/posts/',
            "sources.toml: source 'jinr-2023-10-04-agreement-of-intent' field 'url': "
            "'ftp://www.jinr.ru/posts/",
            id="bad url",
        ),
        pytest.param(
            "sources.toml",
            'file = "sources/jinr-2023-10-04-agreement-of-intent.txt"',
            'file = "sources/no-such-article.txt"',
            "sources.toml: source 'jinr-2023-10-04-agreement-of-intent' field 'file': "
            "'sources/no-such-article.txt' not found",
            id="missing source file",
        ),
        pytest.param(
            "facts.toml",
            'id = "dissertations"',
            'id = "Dissertations!"',
            "facts.toml: fact #17 field 'id': 'Dissertations!' is not a valid id",
            id="id not a slug",
        ),
        pytest.param(
            "facilities.toml",
            'name = "Booster accelerator"\n',
            "",
            "facilities.toml: facility 'booster' field 'name': missing",
            id="missing field",
        ),
        pytest.param(
            "roles.toml",
            'as_of = "2023-10"',
            'as_of = "2023-13"',
            "roles.toml: role 'zakarya-2023-10' field 'as_of': '2023-13' is not a valid "
            'date (write "2023-10-02" for a day',
            id="role date",
        ),
        pytest.param(
            "roles.toml",
            'as_of = "2023-10"\n',
            "",
            "roles.toml: role 'zakarya-2023-10' field 'as_of': missing",
            id="role without a date",
        ),
        pytest.param(
            "roles.toml",
            'person = "kunsulu-zakarya"',
            'person = "kunsulu-zakaria"',
            "roles.toml: role 'zakarya-2023-10' field 'person': unknown person "
            "'kunsulu-zakaria' (did you mean 'kunsulu-zakarya'?)",
            id="role of nobody",
        ),
        pytest.param(
            "events.toml",
            "kunsulu-zakarya; abay-serikkanov;",
            "kunsulu-zakarya; abay-serikanov;",
            "events.toml: event 'nas-rk-visit-2023' field 'people': unknown person "
            "'abay-serikanov'",
            id="unknown participant",
        ),
        pytest.param(
            "events.toml",
            "kunsulu-zakarya; abay-serikkanov;",
            "kunsulu-zakarya; kunsulu-zakarya;",
            "events.toml: event 'nas-rk-visit-2023' field 'people': lists kunsulu-zakarya twice",
            id="participant twice",
        ),
        pytest.param(
            "agreements.toml",
            'kind = "agreement of intent"',
            'kind = "treaty"',
            "agreements.toml: agreement 'agreement-of-intent-2023' field 'kind': 'treaty' is not "
            "allowed",
            id="agreement kind",
        ),
        pytest.param(
            "agreements.toml",
            'place = "JINR, Dubna"',
            'place = "JINR, Dubna"\nsignatories = "grigory-trubnikov; nobody-known"',
            "agreements.toml: agreement 'agreement-of-intent-2023' field 'signatories': unknown "
            "person 'nobody-known'",
            id="unknown signatory",
        ),
        pytest.param(
            "agreements.toml",
            'signed = "2023-10"',
            'signed = "October 2023"',
            "agreements.toml: agreement 'agreement-of-intent-2023' field 'signed': 'October "
            "2023' is not a valid date",
            id="agreement date",
        ),
        pytest.param(
            "sources.toml",
            'language = "en"',
            'language = "de"',
            "sources.toml: source 'jinr-2023-10-04-agreement-of-intent' field 'language': 'de' "
            "is not allowed",
            id="source language",
        ),
        pytest.param(
            "topics.toml",
            'title = "Next steps"',
            f'title = "{"x" * 201}"',
            "topics.toml: topic 'next-steps' field 'title': is 201 characters long",
            id="title too long",
        ),
    ],
)
def test_a_broken_file_is_explained_by_file_item_and_field(
    content: Path, file: str, old: str, new: str, expected: str
) -> None:
    edit(content / file, old, new)

    problems = problems_of(content)

    assert any(problem.startswith(expected) for problem in problems), problems


def test_a_syntax_error_gives_its_line_and_column(content: Path) -> None:
    edit(content / "topics.toml", 'title = "Next steps"', 'title = "Next steps')

    (problem,) = problems_of(content)

    assert re.search(r"line \d+, column \d+", problem), problem


def test_a_missing_file_is_a_problem(content: Path) -> None:
    (content / "facilities.toml").unlink()

    assert problems_of(content) == [
        f"facilities.toml: file not found in {content} (create it with [[facilities]] tables)"
    ]


def test_a_missing_folder_is_a_problem(tmp_path: Path) -> None:
    problems = problems_of(tmp_path / "nowhere")

    assert len(problems) == 1
    assert "content folder not found" in problems[0]


def test_several_problems_are_reported_together(content: Path) -> None:
    edit(content / "events.toml", 'zone = "Asia/Almaty"', 'zone = "Asia/Almati"')
    edit(content / "people.toml", 'side = "jinr"', 'side = "dubna"')
    edit(content / "facts.toml", 'topic = "computing"', 'topic = "grid"')
    (content / "facilities.toml").unlink()

    problems = problems_of(content)

    assert len(problems) == 4, problems
    assert [problem.split(":")[0] for problem in problems] == [
        "facts.toml",
        "people.toml",
        "facilities.toml",
        "events.toml",
    ]
    # The one error message carries them all, for a log line or a reply to an admin.
    with pytest.raises(ContentError, match="4 problem"):
        load_content(content)
