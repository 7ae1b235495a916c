"""HTML for the bot's knowledge: every piece of data escaped, every date at its true precision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from bot.dates import day_of, when
from bot.texts import Html, Texts, escape, join
from storage.knowledge import Knowledge, listed
from storage.models import Agreement, Event, Facility, Fact, ItemKind, Person, Role, Source
from storage.search import MATCH_END, MATCH_START, Hit

KIND_ICONS: Mapping[str, str] = {
    ItemKind.FACT: "📌",
    ItemKind.PERSON: "👤",
    ItemKind.FACILITY: "🏛",
    ItemKind.EVENT: "📅",
    ItemKind.AGREEMENT: "📜",
}


class Cited(Protocol):
    """Any curated item: it names the source it comes from."""

    @property
    def source_id(self) -> str: ...


def source_line(t: Texts, sources: Sequence[Source], *, language: str = "en") -> Html:
    """Where the items on screen come from; a source with a URL is a link.

    With several sources, each line is numbered as the items' marks (``Citations``) are.
    """
    if not sources:
        return Html("")
    if len(sources) == 1:
        return t("source.line", entry=_source(t, sources[0], language=language))
    entries = [
        t("source.numbered", number=number, entry=_source(t, source, language=language))
        for number, source in enumerate(sources, start=1)
    ]
    return t("source.list", entries=join(entries))


def _source(t: Texts, source: Source, *, language: str) -> Html:
    title = escape(source.title)
    if source.url:
        title = Html(f'<a href="{escape(source.url)}">{title}</a>')
    # A page's own date reads as its date; the day we read a page never does.
    if source.published:
        date = t(
            "source.published", date=day_of(source.published, precision="day", language=language)
        )
    elif source.cited:
        date = t("source.cited", date=day_of(source.cited, precision="day", language=language))
    else:
        date = Html("")
    return t("source.entry", title=title, publisher=source.publisher, date=date)


def _day(day: date, language: str) -> str:
    return day_of(day, precision="day", language=language)


@dataclass(frozen=True)
class Citations:
    """The sources of the items on screen, so that each item can name its own.

    With one source the footer says it for all; with several, each item carries the number
    of its source's line in the footer.
    """

    sources: Sequence[Source]

    def after(self, shown: Html, item: Cited) -> Html:
        """The item as shown, with " [2]" after it if its source is the second of several."""
        if len(self.sources) < 2:
            return shown
        for number, source in enumerate(self.sources, start=1):
            if source.id == item.source_id:
                return Html(f"{shown} [{number}]")
        return shown

    def footer(self, t: Texts) -> Html:
        return source_line(t, self.sources, language=t.language)


def paging(t: Texts, *, number: int, count: int) -> Html:
    """ "— page 2 of 3" for a list of several pages; nothing for a single one."""
    return t("list.paging", page=number + 1, pages=count) if count > 1 else Html("")


def fact(t: Texts, item: Fact, *, show_id: bool = False) -> Html:
    """A fact; with its id for an admin, who needs it for /editfact and /delfact."""
    if show_id:
        return t("admin_facts.fact_with_id", title=item.title, id=item.id, text=item.text)
    return t("fact.item", title=item.title, text=item.text)


def role_text(role: Role) -> str:
    """A role as a title of its body, "Vice-Director, JINR": each body ("; "-separated) that
    the title does not name already."""
    bodies = [body for body in listed(role.organisation) if body not in role.role]
    return ", ".join([role.role, *bodies])


def person(t: Texts, item: Person, role: Role | None = None) -> Html:
    """A person in a list, with what they were at the time the list is about."""
    if role is None:
        return t("person.plain", name=item.name)
    return t("person.item", name=item.name, role=role_text(role))


def person_card(
    t: Texts, item: Person, roles: Sequence[Role], took_part: Sequence[Event], cite: Citations
) -> Html:
    """A person with every role the record gives, oldest first, each as of its date and with
    its source, then the events they took part in."""
    lines = [t("person.card_name", name=item.name)]
    lines += [
        cite.after(
            t(
                "person.card_role",
                as_of=day_of(role.as_of, precision=role.as_of_precision, language=t.language),
                role=role_text(role),
            ),
            role,
        )
        for role in roles
    ]
    if took_part:
        events = [
            t("person.card_event", title=event.title, when=when(event, language=t.language))
            for event in took_part
        ]
        lines.append(t("person.card_events", events=join(events)))
    return join(lines)


def agreement(t: Texts, item: Agreement) -> Html:
    """An agreement: what, when, where, between whom, what for."""
    return t(
        "agreement.item",
        title=item.title,
        kind=item.kind,
        signed=day_of(item.signed, precision=item.signed_precision, language=t.language),
        place=item.place,
        parties=item.parties.replace("; ", " · "),
        purpose=item.purpose,
    )


def facility_card(t: Texts, item: Facility) -> Html:
    return t("facility.card", name=item.name, description=item.description)


def event_line(t: Texts, item: Event, *, language: str = "en", reader: str | None = None) -> Html:
    return t(
        "event.item",
        title=item.title,
        when=when(item, language=language, reader=reader),
        place=item.place,
        description=item.description,
    )


def card(t: Texts, known: Knowledge, item: Fact | Person | Facility | Event | Agreement) -> Html:
    """An item shown on its own (a search result opened), with its sources: a person with
    every role, a fact, facility or event as its list shows it."""
    if isinstance(item, Person):
        return person_view(t, known, item)
    if isinstance(item, Fact):
        shown = fact(t, item)
    elif isinstance(item, Facility):
        shown = facility_card(t, item)
    elif isinstance(item, Agreement):
        shown = agreement(t, item)
    else:
        shown = event_line(t, item, language=t.language)
    sources = source_line(t, known.sources_of([item]), language=t.language)
    return join([shown, sources], "\n\n")


def person_view(t: Texts, known: Knowledge, item: Person) -> Html:
    """A person's card with the sources of its roles below."""
    roles = known.roles_of(item.id)
    cite = Citations(known.sources_of([*roles] if roles else [item]))
    shown = person_card(t, item, roles, known.events_of(item.id), cite)
    return join([shown, cite.footer(t)], "\n\n")


def hit(t: Texts, item: Hit) -> Html:
    """A search result with the matched words in bold; the snippet is escaped before marking."""
    snippet = escape(item.snippet).replace(MATCH_START, "<b>").replace(MATCH_END, "</b>")
    return t(
        "search.hit",
        icon=KIND_ICONS.get(item.kind, "•"),
        title=item.title,
        snippet=Html(snippet),
    )
