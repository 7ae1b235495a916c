"""Button data: round-trips, stays within Telegram's 64 bytes, and rejects what is not ours."""

from __future__ import annotations

import pytest

from bot.curation.content import ID_PATTERN
from bot.telegram.callbacks import (
    MAX_BYTES,
    CallbackData,
    EventsPage,
    FacilitiesPage,
    FacilityCard,
    FactsPage,
    SearchPage,
)

# No database: run on the SQLite pass only (tests/conftest.py).
pytestmark = pytest.mark.no_database

KINDS: list[type[CallbackData]] = [FacilitiesPage, FacilityCard, FactsPage, EventsPage, SearchPage]


@pytest.mark.parametrize(
    "value",
    [
        FacilitiesPage(3),
        FacilityCard("ibr-2-research-reactor", 1),
        FactsPage("*", 0),
        FactsPage("", 0),
        EventsPage("past", 12),
        SearchPage(2, "nuclear medicine"),
    ],
)
def test_data_round_trips_and_matches_only_its_own_pattern(value: CallbackData) -> None:
    data = value.data
    assert type(value).parse(data) == value
    assert [kind for kind in KINDS if kind.pattern().match(data)] == [type(value)]


def test_the_longest_content_id_fits_in_a_card_button() -> None:
    longest = "a" * 40
    assert ID_PATTERN.fullmatch(longest)
    assert len(FacilityCard(longest, 999).data.encode()) <= MAX_BYTES


def test_data_over_64_bytes_is_refused_before_telegram_sees_it() -> None:
    with pytest.raises(ValueError, match="over 64 bytes"):
        _ = FacilityCard("x" * 70, 0).data


@pytest.mark.parametrize("data", ["fl:x", "fc:only-id", "ft:a:b:1", "zz:1", "fl:1:2"])
def test_malformed_data_matches_no_pattern(data: str) -> None:
    assert not [kind for kind in KINDS if kind.pattern().match(data)]


@pytest.mark.parametrize("number", ["9" * 25, "1234567", "\u0663", "\uff11", "-1", ""])
def test_a_number_too_long_or_not_in_ascii_digits_is_neither_matched_nor_parsed(
    number: str,
) -> None:
    data = f"sr:{number}:x"
    assert not SearchPage.pattern().match(data)
    with pytest.raises(ValueError, match="not a number"):
        SearchPage.parse(data)
