"""What content/ holds: its eight kinds, their fields, and how a problem with an item is named.

Beside the items, in English (the curated base), ``translations/<language>.toml`` holds the
words of the fields each kind lists in ``translated``, in Russian and Kazakh
(bot/curation/translations.py reads them).

The reader (bot/curation/loading.py), the checks of values (bot/curation/checks.py), the admin
forms and the export all work from these definitions, so that a field is named, sized and
ordered in one place. Content is edited by hand, so every mistake is collected and reported at
once, each naming the file, the item and the field with a hint on how to fix it; nothing loads
until all are fixed.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bot.texts import DEFAULT_LANGUAGE, texts_for
from storage.models import ItemKind

# Ids travel inside inline buttons, whose data Telegram caps at 64 bytes: 40 leaves room.
ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
SHORT, MEDIUM, LONG = 200, 500, 2000
SIDES = ("kazakhstan", "jinr", "other")
STATUSES = ("scheduled", "cancelled")
# The languages of sources: those the bot's readers read.
LANGUAGES = ("en", "ru", "kk")
# The languages the record is translated into, each a file in the folder of translations.
TRANSLATED = ("ru", "kk")
TRANSLATIONS = "translations"
# A translation's source when it is our own wording, not a source's in that language.
OURS = "ours"
AGREEMENT_KINDS = ("agreement", "memorandum", "agreement of intent", "letter of intent")
# Dates known to the day, the month or the year ("2023-10-02", "2023-10", "2023"), each stored
# as its first day with the precision in a column of its own (``as_of_precision``).
DATED = ("as_of", "signed")


class ContentError(Exception):
    """Everything wrong with content/, so that one round of edits can fix it all."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"- {problem}" for problem in problems)
        counted = texts_for(DEFAULT_LANGUAGE)("count.problems", count=len(problems))
        super().__init__(f"{counted} in content:\n{lines}")


@dataclass(frozen=True)
class Field:
    name: str
    type: type = str
    required: bool = True
    limit: int = SHORT
    # The model column the value goes to, when it is not named like the field.
    column: str | None = None


@dataclass(frozen=True)
class Kind:
    table: str
    noun: ItemKind
    fields: tuple[Field, ...]
    positioned: bool = True
    # The fields readers see in words, which translations may give in another language.
    translated: tuple[str, ...] = ()

    @property
    def file(self) -> str:
        return f"{self.table}.toml"


ID = Field("id", limit=64)
SOURCE = Field("source", column="source_id")
KINDS = (
    Kind(
        "sources",
        ItemKind.SOURCE,
        (
            ID,
            Field("title"),
            Field("publisher"),
            # The date the page itself gives, and the day it was read for us: either may be
            # unknown, and a reader is never shown the second as if it were the first.
            Field("published", type=date, required=False),
            Field("cited", type=date, required=False),
            Field("url", required=False, limit=LONG),
            Field("file", required=False, limit=MEDIUM),
            Field("language", limit=8),
        ),
        positioned=False,
    ),
    Kind("topics", ItemKind.TOPIC, (ID, Field("title")), translated=("title",)),
    Kind(
        "facts",
        ItemKind.FACT,
        (ID, Field("topic", limit=64), Field("title"), Field("text", limit=LONG), SOURCE),
        translated=("title", "text"),
    ),
    Kind(
        "people",
        ItemKind.PERSON,
        (
            ID,
            Field("name"),
            Field("side"),
            # Other spellings people search by, "; "-separated: "Sakhiev; Сахиев".
            Field("aliases", required=False, limit=MEDIUM),
            SOURCE,
        ),
        translated=("name",),
    ),
    Kind(
        "roles",
        ItemKind.ROLE,
        (
            ID,
            Field("person", limit=64, column="person_id"),
            Field("role"),
            Field("organisation", required=False),
            # As of when the source says so: "2023-02-14", "2023-02" or "2023".
            Field("as_of", limit=16),
            SOURCE,
        ),
        translated=("role", "organisation"),
    ),
    Kind(
        "facilities",
        ItemKind.FACILITY,
        (
            ID,
            Field("name"),
            Field("description", limit=LONG),
            Field("aliases", required=False, limit=MEDIUM),
            SOURCE,
        ),
        translated=("name", "description"),
    ),
    Kind(
        "events",
        ItemKind.EVENT,
        (
            ID,
            Field("title"),
            Field("description", limit=LONG),
            Field("place"),
            Field("zone", limit=64),
            Field("starts", limit=32),
            Field("ends", required=False, limit=32),
            Field("status", required=False),
            SOURCE,
            # Who took part, as the source names them: people ids, "; "-separated.
            Field("people", required=False, limit=LONG),
        ),
        translated=("title", "description", "place"),
    ),
    Kind(
        "agreements",
        ItemKind.AGREEMENT,
        (
            ID,
            Field("title"),
            Field("kind", limit=32),
            Field("signed", limit=16),
            Field("place"),
            Field("parties", limit=MEDIUM),
            Field("signatories", required=False, limit=MEDIUM),
            Field("purpose", limit=LONG),
            SOURCE,
        ),
        translated=("title", "place", "parties", "purpose"),
    ),
)


@dataclass
class Entry:
    """One [[table]] of a content file: what passed the shape checks, and where it sits."""

    kind: Kind
    index: int
    values: dict[str, Any]

    @property
    def label(self) -> str:
        item_id = self.values.get("id")
        return (
            f"{self.kind.noun} '{item_id}'" if item_id else f"{self.kind.noun} #{self.index + 1}"
        )


class Checker:
    """Collects problems while the content is read, so that all of them can be reported."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # The ids of each kind, or None when its file could not be read: references into an
        # unreadable file are not reported, as its own problem already explains them.
        self.ids: dict[str, set[str] | None] = {}
        self._problems: list[tuple[int, str]] = []

    @property
    def problems(self) -> list[str]:
        """Grouped by file, in the order the files are read, each group in the file's order."""
        return [message for _, message in sorted(self._problems, key=lambda pair: pair[0])]

    def file_problem(self, kind: Kind, message: str) -> None:
        self._problems.append((KINDS.index(kind), f"{kind.file}: {message}"))

    def problem(self, item: Entry, field: str, message: str) -> None:
        self.file_problem(item.kind, f"{item.label} field '{field}': {message}")

    def translations_problem(self, file: str, message: str) -> None:
        """A problem in a file of translations: reported after the items' files, whose ids and
        sources the translations name."""
        self._problems.append((len(KINDS), f"{TRANSLATIONS}/{file}: {message}"))


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like a mistyped word, for a "did you mean" hint; None if none is close."""
    matches = difflib.get_close_matches(word, list(choices), n=1)
    return matches[0] if matches else None
