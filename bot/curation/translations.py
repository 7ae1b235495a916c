"""content/translations/: the record's words in Russian and Kazakh, read, checked, and counted.

English is the curated base. A file per language (``ru.toml``, ``kk.toml``) is shaped like the
item files: a table per item, under the item file's name, gives the item's id, where its words
come from, and the fields it translates::

    [[facilities]]
    id = "ibr-2"
    source = "ours"
    name = "Исследовательский реактор ИБР-2"

``source`` is a source in the file's language whose wording the translation follows, or
"ours" for our own translation, which readers see marked as such. An item whose fields come
from different origins has a table per origin. Each mistake is reported naming the file and
the entry, with the other problems of the content.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.curation.content import (
    ID_PATTERN,
    KINDS,
    OURS,
    TRANSLATED,
    TRANSLATIONS,
    Checker,
    Entry,
    Kind,
    closest,
)
from storage.knowledge import listed
from storage.sync import ContentRecords, Record

# The kinds of item that have words to translate, by the name of their file's tables.
TRANSLATABLE: Mapping[str, Kind] = {kind.table: kind for kind in KINDS if kind.translated}
# Each kind by the noun a translation's row stores (``fact``).
BY_NOUN: Mapping[str, Kind] = {kind.noun: kind for kind in TRANSLATABLE.values()}
# The keys of a translation's table that are not translated fields.
KEYS = ("id", "source")
# Fields that are "; "-separated lists: a translation lists as many, in the same order.
LISTS = ("organisation", "parties")


def file_name(language: str) -> str:
    return f"{language}.toml"


def read_translations(checker: Checker, items: Mapping[str, Sequence[Entry]]) -> list[Record]:
    """The translations in the content folder, each a row of ``translations``; every problem
    goes to the checker. No folder of translations is no translation."""
    folder = checker.folder / TRANSLATIONS
    if not folder.is_dir():
        return []
    english = {
        (table, entry.values["id"]): entry.values
        for table, entries in items.items()
        for entry in entries
        if "id" in entry.values
    }
    records: list[Record] = []
    for path in sorted(folder.glob("*.toml")):
        language = path.stem
        if language not in TRANSLATED:
            checker.translations_problem(path.name, _language_problem(language))
            continue
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            checker.translations_problem(path.name, f"cannot be read: {error} (save it as UTF-8)")
            continue
        except tomllib.TOMLDecodeError as error:
            checker.translations_problem(
                path.name, f"invalid TOML: {error} (fix the syntax there)"
            )
            continue
        reading = _Reading(checker, path.name, language, english)
        for key, tables in document.items():
            reading.tables(key, tables)
        records += reading.records
    return records


def _language_problem(language: str) -> str:
    if language == "en":
        return "English is the curated base: its words are in the item files, not here"
    names = " or ".join(file_name(code) for code in TRANSLATED)
    return f"unknown language '{language}' (name the file after its language: {names})"


@dataclass
class _Reading:
    """One file of translations being read: its problems go to the checker, its rows here."""

    checker: Checker
    file: str
    language: str
    english: Mapping[tuple[str, str], Mapping[str, Any]]

    def __post_init__(self) -> None:
        self.records: list[Record] = []
        # Where each field of each item was first translated, for a repeated one.
        self._seen: dict[tuple[str, str, str], str] = {}

    def problem(self, message: str) -> None:
        self.checker.translations_problem(self.file, message)

    def tables(self, key: str, tables: object) -> None:
        kind = TRANSLATABLE.get(key)
        if kind is None:
            known = ", ".join(f"[[{table}]]" for table in TRANSLATABLE)
            guess = closest(key, TRANSLATABLE)
            hint = f"did you mean [[{guess}]]?" if guess else f"use {known}"
            if key == "sources":
                hint = "sources are not translated: each is in its own language"
            self.problem(f"unknown kind of item '{key}' ({hint})")
            return
        if not isinstance(tables, list):
            self.problem(f"'{key}' must be an array of tables (write [[{key}]] before each entry)")
            return
        for index, table in enumerate(tables):
            if isinstance(table, dict):
                self.entry(kind, index, table)
            else:
                self.problem(f"{key} #{index + 1} is not a table (write [[{key}]] before it)")

    def entry(self, kind: Kind, index: int, table: Mapping[str, Any]) -> None:
        item_id = table.get("id")
        label = (
            f"{kind.table} '{item_id}'"
            if isinstance(item_id, str)
            else f"{kind.table} #{index + 1}"
        )
        english = self._item(kind, item_id, label)
        source_id = self._source(table.get("source"), label)
        fields = {name: value for name, value in table.items() if name not in KEYS}
        if not fields:
            names = ", ".join(kind.translated)
            self.problem(f"{label}: translates no field (add one of: {names})")
        for name, value in fields.items():
            text = self._text(kind, name, value, f"{label} field '{name}'")
            if text is None or english is None:
                continue
            if english.get(name) is None:
                self.problem(
                    f"{label} field '{name}': the {kind.noun} has no {name} in English, so "
                    "there is nothing to translate (remove it, or give the item one first)"
                )
                continue
            if name in LISTS and len(listed(text)) != len(listed(english[name])):
                self.problem(
                    f"{label} field '{name}': lists {len(listed(text))} where English lists "
                    f'{len(listed(english[name]))} (translate each, "; "-separated, in order)'
                )
                continue
            key = (kind.table, english["id"], name)
            if key in self._seen:
                self.problem(
                    f"{label} field '{name}': translated twice (also in {self._seen[key]})"
                )
                continue
            self._seen[key] = label
            if source_id is not None:
                self.records.append(
                    {
                        "kind": str(kind.noun),
                        "item_id": english["id"],
                        "field": name,
                        "language": self.language,
                        "text": text,
                        "source_id": None if source_id == OURS else source_id,
                    }
                )

    def _item(self, kind: Kind, item_id: object, label: str) -> Mapping[str, Any] | None:
        """The English item the entry translates; None (reported) if there is none."""
        if not isinstance(item_id, str) or not ID_PATTERN.fullmatch(item_id):
            self.problem(f'{label}: missing or invalid id (add id = "...", as in {kind.file})')
            return None
        found = self.english.get((kind.table, item_id))
        known = self.checker.ids.get(kind.table)
        if found is None and known is not None:
            guess = closest(item_id, known)
            hint = f"did you mean '{guess}'?" if guess else f"use an id of {kind.file}"
            self.problem(f"{label}: no {kind.noun} '{item_id}' in {kind.file} ({hint})")
        return found

    def _source(self, source: object, label: str) -> str | None:
        """The entry's origin: OURS or a source id in the file's language; None if neither."""
        hint = f'source = "{OURS}" for our own translation, or a source id in {self.language}'
        if not isinstance(source, str) or not source.strip():
            self.problem(f"{label} field 'source': missing ({hint})")
            return None
        if source == OURS:
            return OURS
        cited = self.english.get(("sources", source))
        if cited is None:
            known = self.checker.ids.get("sources")
            if known is not None:
                guess = closest(source, known)
                found = f"did you mean '{guess}'?" if guess else hint
                self.problem(f"{label} field 'source': unknown source '{source}' ({found})")
            return None
        if cited.get("language") != self.language:
            self.problem(
                f"{label} field 'source': '{source}' is in {cited.get('language')}, not in "
                f"{self.language} (cite a source in {self.language}, or write source = "
                f'"{OURS}")'
            )
            return None
        return source

    def _text(self, kind: Kind, name: str, value: object, where: str) -> str | None:
        """A translated field's text, stripped; None (reported) if it will not do."""
        field = next((field for field in kind.fields if field.name == name), None)
        if field is None:
            guess = closest(name, kind.translated)
            hint = (
                f"did you mean '{guess}'?" if guess else f"translate {', '.join(kind.translated)}"
            )
            self.problem(f"{where}: a {kind.noun} has no such field ({hint})")
            return None
        if name not in kind.translated:
            names = ", ".join(kind.translated)
            self.problem(
                f"{where}: not translated, it is the same in every language ({names} are)"
            )
            return None
        if not isinstance(value, str):
            self.problem(f"{where}: must be a string (put it in quotes)")
            return None
        if not value.strip():
            self.problem(f"{where}: is empty (write the translation, or remove the field)")
            return None
        if len(value.strip()) > field.limit:
            self.problem(
                f"{where}: is {len(value.strip())} characters long (keep it to at most "
                f"{field.limit})"
            )
            return None
        return value.strip()


@dataclass(frozen=True)
class Untranslated:
    """What one language lacks: each item's fields still in English only, kind by kind."""

    language: str
    # By table name, in content order: (item id, field) pairs.
    missing: Mapping[str, Sequence[tuple[str, str]]]
    # How many fields there are to translate in all.
    total: int

    @property
    def count(self) -> int:
        return sum(len(pairs) for pairs in self.missing.values())


def untranslated(records: ContentRecords) -> list[Untranslated]:
    """For each language the record is translated into, the fields of items that have no
    translation in it (an optional field an item lacks is nothing to translate)."""
    done = {
        (row["kind"], row["item_id"], row["field"], row["language"])
        for row in records.translations
    }
    found = []
    for language in TRANSLATED:
        missing: dict[str, list[tuple[str, str]]] = {}
        total = 0
        for table, kind in TRANSLATABLE.items():
            for item in getattr(records, table):
                for name in kind.translated:
                    if item.get(name) is None:
                        continue
                    total += 1
                    if (kind.noun, item["id"], name, language) not in done:
                        missing.setdefault(table, []).append((item["id"], name))
        found.append(Untranslated(language, missing, total))
    return found
