"""Admin input for facts, checked by the rules content/ obeys, so an export always passes a check.

Input is taken as plain text: markup an admin types is kept literally and escaped when shown.
Control characters are removed rather than refused (they are invisible, so an admin could not
find them to fix them): a title or topic becomes one line, a text keeps its line breaks and tabs
become spaces. Each check raises ``FormError`` carrying the message for the admin.
"""

from __future__ import annotations

import difflib
import itertools
import re
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from bot.curation.content import ID_PATTERN, KINDS, Field
from bot.texts import Html, Texts, shorten
from storage.knowledge import Knowledge
from storage.models import ItemKind, Source, Topic

# The fields an admin can set, in the order /addfact asks for them.
FIELDS = ("topic", "title", "text", "source")
# C0 and C1 controls except tab and line feed (which are handled apart) and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# How much of a wrong value an error message repeats.
ECHO = 60
ID_LIMIT = 40
FALLBACK_ID = "fact"


def _fields(noun: ItemKind) -> dict[str, Field]:
    kind = next(kind for kind in KINDS if kind.noun == noun)
    return {field.name: field for field in kind.fields}


FACT_FIELDS, SOURCE_FIELDS = _fields(ItemKind.FACT), _fields(ItemKind.SOURCE)


class FormError(Exception):
    """Input that cannot be used; ``message`` gives the admin the reason and the right form."""

    def __init__(self, message: Callable[[Texts], Html]) -> None:
        super().__init__("invalid fact input")
        self.message = message


def clean(value: str, *, multiline: bool = False) -> str:
    """Without control characters or outer spaces; one line unless ``multiline``."""
    value = _CONTROL.sub("", value).replace("\t", " ")
    if not multiline:
        return " ".join(value.split())
    return "\n".join(line.rstrip() for line in value.strip().split("\n"))


def echo(value: str) -> str:
    """A wrong value as an error repeats it: short enough to read."""
    value = clean(value)
    return shorten(value, ECHO)


def check(name: str, value: str) -> str:
    """A title or text, cleaned and within its content limit."""
    cleaned = clean(value, multiline=name == "text")
    if not cleaned:
        raise FormError(lambda t: t("admin_facts.empty", field=name))
    limit = FACT_FIELDS[name].limit
    if len(cleaned) > limit:
        raise FormError(
            lambda t: t("admin_facts.too_long", field=name, length=len(cleaned), limit=limit)
        )
    return cleaned


def topic(known: Knowledge, typed: str) -> Topic:
    """A topic by id or title; the closest ones are suggested otherwise."""
    wanted = clean(typed)
    if not wanted:
        raise FormError(lambda t: t("admin_facts.empty", field="topic"))
    found = known.find_topic(wanted)
    if found is not None:
        return found
    names = {name.lower(): item.id for item in known.topics for name in (item.id, item.title)}
    close = difflib.get_close_matches(wanted.lower(), list(names), n=3, cutoff=0.5)
    ids = list(dict.fromkeys(names[name] for name in close)) or [item.id for item in known.topics]
    raise FormError(
        lambda t: t("admin_facts.unknown_topic", topic=echo(wanted), topics=", ".join(ids))
    )


@dataclass(frozen=True)
class SourceChoice:
    """An existing source, or one to create from a URL when the fact is saved."""

    source: Source
    new: bool


def source(known: Knowledge, typed: str, *, today: date, taken: Collection[str]) -> SourceChoice:
    """An existing source id, or an http(s) URL: a known one is reused, a new one described.

    A new source is named after what the URL says and nothing more: its title is the address
    without the scheme, its publisher the host; its own date is unknown, so only the day it
    was cited is kept (the admin can correct all three in content/ later); ``taken`` are the
    source ids already in use.
    """
    wanted = clean(typed)
    if not wanted:
        raise FormError(lambda t: t("admin_facts.empty", field="source"))
    if wanted in known.sources:
        return SourceChoice(known.sources[wanted], new=False)
    if not wanted.lower().startswith(("http://", "https://")):
        close = difflib.get_close_matches(wanted, list(known.sources), n=3, cutoff=0.5)
        ids = ", ".join(close or known.sources)
        raise FormError(
            lambda t: t("admin_facts.unknown_source", source=echo(wanted), sources=ids)
        )
    parts = urlsplit(wanted)
    if not parts.hostname or " " in wanted or len(wanted) > SOURCE_FIELDS["url"].limit:
        raise FormError(lambda t: t("admin_facts.bad_url", url=echo(wanted)))
    for known_source in known.sources.values():
        if known_source.url == wanted:
            return SourceChoice(known_source, new=False)
    host = parts.hostname.removeprefix("www.")
    title = (host + parts.path).rstrip("/")
    limit = SOURCE_FIELDS["title"].limit
    title = shorten(title, limit)
    return SourceChoice(
        Source(
            id=unique_id(slug(title, fallback="source"), taken),
            title=title,
            publisher=host[: SOURCE_FIELDS["publisher"].limit],
            published=None,
            cited=today,
            url=wanted,
            file=None,
        ),
        new=True,
    )


def slug(text: str, *, fallback: str = FALLBACK_ID) -> str:
    """An id made from a title: ASCII letters and digits joined by hyphens, at most 40 long."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    made = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:ID_LIMIT].rstrip("-")
    return made or fallback


def unique_id(base: str, taken: Collection[str]) -> str:
    """``base``, or ``base-2``, ``base-3`` ... whichever is free first, kept to 40 characters."""
    for number in itertools.count(1):
        suffix = "" if number == 1 else f"-{number}"
        candidate = base[: ID_LIMIT - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            assert ID_PATTERN.fullmatch(candidate), candidate
            return candidate
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class OneLine:
    topic: str
    title: str
    text: str
    source: str


def one_line(rest: str) -> OneLine:
    """``topic | title | text | source``; the text may itself contain "|"."""
    parts = rest.split("|")
    if len(parts) < len(FIELDS):
        raise FormError(lambda t: t("admin_facts.addfact_usage"))
    return OneLine(parts[0], parts[1], "|".join(parts[2:-1]), parts[-1])


@dataclass(frozen=True)
class EditForm:
    fact_id: str
    field: str | None
    value: str | None


def edit_form(rest: str) -> EditForm:
    """``<id>`` alone, or ``<id> <field> = <value>``."""
    head, equals, value = rest.partition("=")
    words = head.split()
    if not words:
        raise FormError(lambda t: t("admin_facts.editfact_usage"))
    fact_id = words[0].lower()
    if not equals:
        if len(words) > 1:
            raise FormError(lambda t: t("admin_facts.editfact_usage"))
        return EditForm(fact_id, None, None)
    if len(words) != 2 or words[1].lower() not in FIELDS:
        field = " ".join(words[1:])
        raise FormError(lambda t: t("admin_facts.unknown_field", field=echo(field)))
    return EditForm(fact_id, words[1].lower(), value)


def fact_id(typed: str, *, command: str) -> str:
    """The one id typed after /delfact or /restore."""
    words = typed.split()
    if len(words) != 1:
        raise FormError(lambda t: t("admin_facts.id_usage", command=command))
    return words[0].lower()
