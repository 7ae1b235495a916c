"""What an inline button says when pressed: short, typed, and never over Telegram's 64 bytes.

Each kind of button data is ``<prefix>:<field>:<field>``; the prefix picks the handler (its
``pattern``) and ``parse`` turns the data back into the dataclass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import ClassVar, Self

MAX_BYTES = 64
# A number in button data is a page or a list position: six ASCII digits are plenty, and
# anything longer is forged (25 digits overflow SQLite's 64-bit integers). Python's \d would
# also take other scripts' digits, which int() reads.
MAX_DIGITS = 6
NUMBER = f"[0-9]{{1,{MAX_DIGITS}}}"
_NUMBER = re.compile(NUMBER)


class CallbackData:
    prefix: ClassVar[str]

    @classmethod
    def pattern(cls) -> re.Pattern[str]:
        """Matches exactly this kind's data, so a malformed or stale one falls through."""
        parts = [
            NUMBER if field.type in ("int", int) else "[^:]*"
            for field in fields(cls)  # type: ignore[arg-type]  # subclasses are dataclasses; the base is not
        ]
        return re.compile("^" + ":".join([re.escape(cls.prefix), *parts]) + "$")

    @property
    def data(self) -> str:
        values = [str(getattr(self, field.name)) for field in fields(self)]  # type: ignore[arg-type]  # subclasses are dataclasses; the base is not
        data = ":".join([self.prefix, *values])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data {data!r} is over {MAX_BYTES} bytes")
        return data

    @classmethod
    def parse(cls, data: str) -> Self:
        """The button's data back as a value; ValueError if it is not ours or is malformed."""
        prefix, *values = data.split(":")
        names = [field.name for field in fields(cls)]  # type: ignore[arg-type]  # subclasses are dataclasses; the base is not
        if prefix != cls.prefix or len(values) != len(names):
            raise ValueError(f"not {cls.__name__} data: {data!r}")
        types = {field.name: field.type for field in fields(cls)}  # type: ignore[arg-type]  # subclasses are dataclasses; the base is not
        parsed: dict[str, int | str] = {}
        for name, value in zip(names, values, strict=True):
            if types[name] not in ("int", int):
                parsed[name] = value
            elif _NUMBER.fullmatch(value):
                parsed[name] = int(value)
            else:
                raise ValueError(
                    f"{name} in {data!r} is not a number of at most {MAX_DIGITS} digits"
                )
        return cls(**parsed)


@dataclass(frozen=True)
class FacilitiesPage(CallbackData):
    prefix: ClassVar[str] = "fl"
    number: int


@dataclass(frozen=True)
class FacilityCard(CallbackData):
    prefix: ClassVar[str] = "fc"
    facility_id: str
    # The list page to go back to.
    number: int


@dataclass(frozen=True)
class FactsPage(CallbackData):
    prefix: ClassVar[str] = "ft"
    # "*" for all topics.
    topic: str
    number: int


@dataclass(frozen=True)
class EventsPage(CallbackData):
    prefix: ClassVar[str] = "ev"
    # "up" for upcoming, "past" for past events.
    which: str
    number: int


@dataclass(frozen=True)
class SearchPage(CallbackData):
    """A further page of search results; ``key`` stands for the words
    (bot/telegram/search_memory.py)."""

    prefix: ClassVar[str] = "sr"
    number: int
    key: str


@dataclass(frozen=True)
class SearchHit(CallbackData):
    """One search result opened: its kind's letter (storage.knowledge.KIND_LETTERS) and id,
    and the results page to go back to."""

    prefix: ClassVar[str] = "sh"
    kind: str
    item_id: str
    number: int
    key: str


@dataclass(frozen=True)
class ChatLanguage(CallbackData):
    """A language chosen for the chat: its code ("ru")."""

    prefix: ClassVar[str] = "lg"
    language: str


@dataclass(frozen=True)
class ChatZone(CallbackData):
    """A zone chosen for the chat with /zone, by its button's name ("almaty")."""

    prefix: ClassVar[str] = "tz"
    choice: str


@dataclass(frozen=True)
class SubscriptionSetting(CallbackData):
    """A tap in the settings: "events", "news", "stop", a lead such as "1d", or a zone's
    button ("zone-almaty")."""

    prefix: ClassVar[str] = "sb"
    setting: str


@dataclass(frozen=True)
class TimelinePage(CallbackData):
    """A year of the timeline: ``number`` counts the years on record from the latest."""

    prefix: ClassVar[str] = "tl"
    number: int


@dataclass(frozen=True)
class TimelineEntry(CallbackData):
    """One line of the timeline opened: "e" for an event, "a" for an agreement; and the year's
    page to go back to."""

    prefix: ClassVar[str] = "te"
    kind: str
    item_id: str
    number: int


@dataclass(frozen=True)
class PeoplePage(CallbackData):
    prefix: ClassVar[str] = "pp"
    number: int


@dataclass(frozen=True)
class PersonCard(CallbackData):
    """A person's card, and the list page to go back to."""

    prefix: ClassVar[str] = "pc"
    person_id: str
    number: int


@dataclass(frozen=True)
class CalendarFile(CallbackData):
    """ "📅 Add to calendar" on an event's card, or ``UPCOMING`` for every upcoming event."""

    prefix: ClassVar[str] = "ic"
    # Never an event's id: those are letters, digits and hyphens.
    UPCOMING: ClassVar[str] = "*"
    event_id: str
