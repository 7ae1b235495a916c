"""HTML for the bot's knowledge: every piece of data escaped, every date at its true precision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from bot.reader.dates import day_of, when
from bot.reader.wording import TITLE_OF, Wording
from bot.texts import Html, Texts, escape, join
from storage.knowledge import listed
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


def fact(w: Wording, item: Fact, *, show_id: bool = False) -> Html:
    """A fact; with its id for an admin, who needs it for /editfact and /delfact."""
    title, text = w(item, "title"), w(item, "text")
    if show_id:
        return w.t("admin_facts.fact_with_id", title=title, id=item.id, text=text)
    return w.t("fact.item", title=title, text=text)


def role_text(w: Wording, role: Role) -> Html:
    """A role as a title of its body, "Vice-Director, JINR": each body ("; "-separated) that
    the title does not name already. Which those are is told in English, the curated base,
    where a translation lists as many bodies: a Russian title names its body in another
    grammatical case than the list of bodies does."""
    title, bodies = w.text(role, "role"), listed(w.text(role, "organisation"))
    english = listed(role.organisation)
    if len(english) == len(bodies):
        shown = [body for body, base in zip(bodies, english, strict=True) if base not in role.role]
    else:
        shown = [body for body in bodies if body not in title]
    return w.marked(", ".join([title, *shown]), ours=w.ours(role, "role", "organisation"))


def person(w: Wording, item: Person, role: Role | None = None) -> Html:
    """A person in a list, with what they were at the time the list is about."""
    if role is None:
        return w.t("person.plain", name=w(item, "name"))
    return w.t("person.item", name=w(item, "name"), role=role_text(w, role))


def person_card(
    w: Wording, item: Person, roles: Sequence[Role], took_part: Sequence[Event], cite: Citations
) -> Html:
    """A person with every role the record gives, oldest first, each as of its date and with
    its source, then the events they took part in."""
    t = w.t
    lines = [t("person.card_name", name=w(item, "name"))]
    lines += [
        cite.after(
            t(
                "person.card_role",
                as_of=day_of(role.as_of, precision=role.as_of_precision, language=t.language),
                role=role_text(w, role),
            ),
            role,
        )
        for role in roles
    ]
    if took_part:
        events = [
            t("person.card_event", title=w(event, "title"), when=when(event, language=t.language))
            for event in took_part
        ]
        lines.append(t("person.card_events", events=join(events)))
    return join(lines)


def agreement(w: Wording, item: Agreement) -> Html:
    """An agreement: what, when, where, between whom, what for."""
    parties = w.text(item, "parties").replace("; ", " · ")
    return w.t(
        "agreement.item",
        title=w(item, "title"),
        kind=agreement_kind(w.t, item.kind),
        signed=day_of(item.signed, precision=item.signed_precision, language=w.language),
        place=w(item, "place"),
        parties=w.marked(parties, ours=w.ours(item, "parties")),
        purpose=w(item, "purpose"),
    )


def agreement_kind(t: Texts, kind: str) -> Html:
    """ "letter of intent" in the reader's words: the kinds are content's fixed choices."""
    return t(f"agreement.kind.{kind.replace(' ', '_')}")


def facility_card(w: Wording, item: Facility) -> Html:
    return w.t("facility.card", name=w(item, "name"), description=w(item, "description"))


def event_line(
    w: Wording, item: Event, *, language: str = "en", reader: str | None = None
) -> Html:
    """An event as lists show it; its times in the reader's zone too, where it differs."""
    return w.t(
        "event.item",
        title=w(item, "title"),
        when=when(item, language=language, reader=reader),
        place=w(item, "place"),
        description=w(item, "description"),
    )


def card(
    w: Wording, item: Fact | Person | Facility | Event | Agreement, *, reader: str | None = None
) -> Html:
    """An item shown on its own (a search result opened), with its sources: a person with
    every role, a fact, facility or event as its list shows it."""
    if isinstance(item, Person):
        return person_view(w, item)
    if isinstance(item, Fact):
        shown = fact(w, item)
    elif isinstance(item, Facility):
        shown = facility_card(w, item)
    elif isinstance(item, Agreement):
        shown = agreement(w, item)
    else:
        shown = event_line(w, item, language=w.language, reader=reader)
    sources = source_line(w.t, w.known.sources_of([item]), language=w.language)
    return join([shown, w.footer(sources)], "\n\n")


def person_view(w: Wording, item: Person) -> Html:
    """A person's card with the sources of its roles below."""
    known = w.known
    roles = known.roles_of(item.id)
    cite = Citations(known.sources_of([*roles] if roles else [item]))
    shown = person_card(w, item, roles, known.events_of(item.id), cite)
    return join([shown, w.footer(cite.footer(w.t))], "\n\n")


def hit(w: Wording, item: Hit, shown: Fact | Person | Facility | Event | Agreement | None) -> Html:
    """A search result with the matched words in bold; the snippet is escaped before marking.
    Its title is the item's in the reader's language, if the item is ``shown``."""
    snippet = escape(item.snippet).replace(MATCH_START, "<b>").replace(MATCH_END, "</b>")
    return w.t(
        "search.hit",
        icon=KIND_ICONS.get(item.kind, "•"),
        title=item.title if shown is None else w(shown, TITLE_OF[type(shown)]),
        snippet=Html(snippet),
    )
