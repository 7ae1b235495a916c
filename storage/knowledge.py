"""The curated knowledge, read whole into memory: it changes only on a sync or an admin edit.

Commands read this snapshot instead of the database, so a reply costs no query; the bot reloads
it after its own writes and whenever ``revision`` shows that another process wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.events import ends
from storage.models import (
    KNOWLEDGE,
    Agreement,
    Event,
    Facility,
    Fact,
    ItemKind,
    Person,
    Revision,
    Role,
    Source,
    Topic,
    Translation,
)

# The kinds of item search finds, by the one letter a button carries for each.
KIND_LETTERS: Mapping[str, str] = {
    "f": ItemKind.FACT,
    "p": ItemKind.PERSON,
    "c": ItemKind.FACILITY,
    "e": ItemKind.EVENT,
    "a": ItemKind.AGREEMENT,
}
LETTER_OF_KIND: Mapping[str, str] = {kind: letter for letter, kind in KIND_LETTERS.items()}

Item = Fact | Person | Facility | Event | Agreement


@dataclass(frozen=True)
class Knowledge:
    sources: Mapping[str, Source] = field(default_factory=dict)
    topics: Sequence[Topic] = ()
    # Visible facts, in display order: by topic, then by position.
    facts: Sequence[Fact] = ()
    people: Sequence[Person] = ()
    # What people were, each as of its date: oldest first.
    roles: Sequence[Role] = ()
    facilities: Sequence[Facility] = ()
    # Scheduled (not cancelled) events, soonest first.
    events: Sequence[Event] = ()
    # Oldest first.
    agreements: Sequence[Agreement] = ()
    # The items' words in other languages, by kind, item id, field and language.
    translations: Mapping[tuple[str, str, str, str], Translation] = field(default_factory=dict)

    def translation(
        self, kind: str, item_id: str, field: str, language: str
    ) -> Translation | None:
        """One field of an item in a language other than English, if it is translated."""
        return self.translations.get((kind, item_id, field, language))

    def translated(self, kind: str, item_id: str, field: str) -> list[str]:
        """The field's words in every language it is translated into (a name, for /who)."""
        return [
            found.text
            for (of_kind, of_item, of_field, _), found in self.translations.items()
            if (of_kind, of_item, of_field) == (kind, item_id, field)
        ]

    def find_topic(self, name: str) -> Topic | None:
        """A topic by its id or its title in any language, ignoring case and spacing."""
        wanted = " ".join(name.split()).casefold()
        for topic in self.topics:
            titles = [topic.id, topic.title, *self.translated(ItemKind.TOPIC, topic.id, "title")]
            if wanted in (" ".join(title.split()).casefold() for title in titles):
                return topic
        return None

    def facts_in(self, topic: str | None) -> Sequence[Fact]:
        return self.facts if topic is None else [f for f in self.facts if f.topic == topic]

    def topic_counts(self) -> Sequence[tuple[Topic, int]]:
        """Every topic that has facts, with how many, in curated order."""
        counts = [(topic, len(self.facts_in(topic.id))) for topic in self.topics]
        return [(topic, count) for topic, count in counts if count]

    def person(self, person_id: str) -> Person | None:
        return self._people.get(person_id)

    def roles_of(self, person_id: str) -> Sequence[Role]:
        """A person's roles in time order, each as its source gives it."""
        return [role for role in self.roles if role.person_id == person_id]

    def role_by(self, person_id: str, day: date) -> Role | None:
        """What the record last says a person was, by a day (the latest role as of then)."""
        known = [role for role in self.roles_of(person_id) if role.as_of <= day]
        return known[-1] if known else None

    def people_at(self, event: Event) -> Sequence[Person]:
        """Who took part in an event, in the order its source names them."""
        found = (self._people.get(person_id) for person_id in listed(event.people))
        return [person for person in found if person is not None]

    def events_of(self, person_id: str) -> Sequence[Event]:
        """The events a person took part in, soonest first."""
        return [event for event in self.events if person_id in listed(event.people)]

    def event(self, event_id: str) -> Event | None:
        return next((item for item in self.events if item.id == event_id), None)

    def agreement(self, agreement_id: str) -> Agreement | None:
        return next((item for item in self.agreements if item.id == agreement_id), None)

    @cached_property
    def _people(self) -> Mapping[str, Person]:
        return {person.id: person for person in self.people}

    def facility(self, facility_id: str) -> Facility | None:
        return next((item for item in self.facilities if item.id == facility_id), None)

    def item(self, kind: str, item_id: str) -> Item | None:
        """A fact, person, facility, event or agreement by kind and id, if it is shown."""
        return self._by_kind_and_id.get((kind, item_id))

    @cached_property
    def _by_kind_and_id(self) -> Mapping[tuple[str, str], Item]:
        kinds: dict[str, Sequence[Item]] = {
            ItemKind.FACT: self.facts,
            ItemKind.PERSON: self.people,
            ItemKind.FACILITY: self.facilities,
            ItemKind.EVENT: self.events,
            ItemKind.AGREEMENT: self.agreements,
        }
        return {(kind, item.id): item for kind, items in kinds.items() for item in items}

    def first_loaded(self) -> datetime | None:
        """When the oldest item came in: the first content load, the seed record."""
        kinds: list[Sequence[Fact | Event | Role | Agreement]] = [
            self.facts,
            self.events,
            self.roles,
            self.agreements,
        ]
        return min((item.created_at for items in kinds for item in items), default=None)

    def upcoming(self, now: datetime) -> Sequence[Event]:
        """Events not yet over (including those under way), soonest first."""
        return [event for event in self.events if ends(event) > now]

    def past(self, now: datetime) -> Sequence[Event]:
        """Events that are over, latest first."""
        return [event for event in reversed(self.events) if ends(event) <= now]

    def sources_of(
        self, items: Sequence[Fact | Person | Role | Facility | Event | Agreement]
    ) -> list[Source]:
        """The distinct sources of some items, in the order the items cite them."""
        cited = dict.fromkeys(item.source_id for item in items)
        return [self.sources[source] for source in cited if source in self.sources]


async def load(session: AsyncSession) -> Knowledge:
    """Everything curated, as detached rows ready to be read from any task."""

    sources = (await session.scalars(select(Source))).all()
    topics = (await session.scalars(select(Topic).order_by(Topic.position, Topic.id))).all()
    facts = await session.scalars(
        select(Fact)
        .join(Topic, Topic.id == Fact.topic)
        .where(Fact.deleted_at.is_(None))
        .order_by(Topic.position, Fact.position, Fact.id)
    )
    people = await session.scalars(select(Person).order_by(Person.position, Person.id))
    roles = await session.scalars(select(Role).order_by(Role.as_of, Role.position, Role.id))
    facilities = await session.scalars(select(Facility).order_by(Facility.position, Facility.id))
    events = await session.scalars(
        select(Event).where(Event.status == "scheduled").order_by(Event.starts_at, Event.id)
    )
    agreements = await session.scalars(
        select(Agreement).order_by(Agreement.signed, Agreement.position, Agreement.id)
    )
    translations = await session.scalars(select(Translation))
    return Knowledge(
        sources={source.id: source for source in sources},
        topics=topics,
        facts=facts.all(),
        people=people.all(),
        roles=roles.all(),
        facilities=facilities.all(),
        events=events.all(),
        agreements=agreements.all(),
        translations={
            (row.kind, row.item_id, row.field, row.language): row for row in translations
        },
    )


def listed(ids: str | None) -> list[str]:
    """The ids of a "; "-separated list, as content writes who took part or signed."""
    return [part.strip() for part in (ids or "").split(";") if part.strip()]


async def revision(session: AsyncSession) -> int:
    """A number that database triggers raise on every change to curated rows."""
    return await session.scalar(select(Revision.value).where(Revision.name == KNOWLEDGE)) or 0
