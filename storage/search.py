"""Full-text search over facts, people, facilities, events and agreements, in English and in
their Russian and Kazakh translations (SQLite FTS5).

What is SQLite's own is here (the statements) and in migration 0017 (the index and the triggers
that keep it); the stems of Russian and Kazakh words (storage.stemming) and the close spellings
(storage.spelling) are plain Python, for any database.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from storage import stemming
from storage.models import KNOWLEDGE
from storage.spelling import Vocabulary

MAX_WORDS = 10
MAX_WORD_LENGTH = 64
# Shorter words match too much as prefixes ("b" is most of the index); they must match whole.
MIN_PREFIX_LENGTH = 3
# Marks around matched words in snippets: control characters no user text can carry through,
# so the caller can escape the snippet and only then turn them into markup.
MATCH_START, MATCH_END = "\x02", "\x03"
# A word, with its hyphenated parts: "IBR-2" and "DC-60" are one name, searched as a phrase.
_WORD = re.compile(r"\w+(?:-\w+)*", re.UNICODE)

# The index's columns (migration 0017, whose languages these are), each with its weight in the
# ranking: the English base (title, body, other spellings of a name), then each other language's
# title and body, from the translations. A title match weighs ten times a body match, in every
# language, and a match of a name or another spelling of it (the aliases column, which holds a
# person's name too) fifty: a name finds its person or facility before the facts that mention
# it. Kind and item_id are not searched.
WEIGHTS = {
    **{"kind": 0.0, "item_id": 0.0, "title": 10.0, "body": 1.0, "aliases": 50.0},
    **{"title_ru": 10.0, "body_ru": 1.0, "title_kk": 10.0, "body_kk": 1.0},
}
COLUMNS = tuple(WEIGHTS)
TRANSLATED = ("ru", "kk")
RANK = ", ".join(map(str, WEIGHTS.values()))
SNIPPET_WORDS = 16


def query_for(language: str) -> str:
    """The statement for a page of results, for a reader of `language`: each hit's title and
    snippet in it where the item has them translated, else in English.

    Ties break on rowid: unique and stable, and unlike the stored columns it costs no read per
    row. The total rides along as a subquery, so a page is one round trip to the database.
    """
    title, body = "title", str(COLUMNS.index("body"))
    if language in TRANSLATED:
        title = f"CASE WHEN title_{language} <> '' THEN title_{language} ELSE title END"
        column = COLUMNS.index(f"body_{language}")
        body = f"CASE WHEN body_{language} <> '' THEN {column} ELSE {body} END"
    return f"""
    SELECT kind, item_id, {title} AS title,
           snippet(search_index, {body}, '{MATCH_START}', '{MATCH_END}', '…', {SNIPPET_WORDS})
           AS snippet,
           (SELECT count(*) FROM search_index WHERE search_index MATCH :match) AS total
    FROM search_index
    WHERE search_index MATCH :match
    ORDER BY bm25(search_index, {RANK}), rowid
    LIMIT :limit OFFSET :offset
"""


QUERIES = {language: query_for(language) for language in ("en", *TRANSLATED)}
COUNT = "SELECT count(*) FROM search_index WHERE search_index MATCH :match"
TERMS = "SELECT term FROM search_terms"
REVISION = f"SELECT value FROM revisions WHERE name = '{KNOWLEDGE}'"
# Merging the index's segments into one: after many single-row inserts (a sync adds its rows
# one trigger at a time) a query over a common word is two to three times faster.
_OPTIMIZE = text("INSERT INTO search_index (search_index) VALUES ('optimize')")


@dataclass(frozen=True)
class Hit:
    kind: str
    item_id: str
    title: str
    snippet: str


@dataclass(frozen=True)
class Page:
    """Which page of results, asked with which statement (the reader's language's)."""

    statement: str
    limit: int
    offset: int


@dataclass(frozen=True)
class Results:
    hits: Sequence[Hit]
    total: int
    # Nothing matched as typed: these hits are for close spellings of the words.
    respelled: bool = False


def words(query: str) -> list[str]:
    """The words of a user's query, as FTS5 will see them; single letters say nothing."""
    found = [word[:MAX_WORD_LENGTH] for word in _WORD.findall(query)]
    return [word for word in found if len(word) > 1 or len(found) == 1][:MAX_WORDS]


def match_terms(words: Sequence[str]) -> list[str | Sequence[str]]:
    """The words as the index is searched for them: a Russian or Kazakh word by the stems its
    forms share (storage.stemming), any other as it is."""
    return [stemming.stems(word) or word for word in words]


def match_expression(terms: Sequence[str | Sequence[str]], *, operator: str) -> str:
    """An FTS5 query: terms quoted so no user text is syntax; longer ones match as prefixes.

    A term may be a few spellings of one word, any of which matches.
    """
    return f" {operator} ".join(
        _any_of([term] if isinstance(term, str) else term) for term in terms
    )


def _any_of(spellings: Sequence[str]) -> str:
    quoted = [
        f'"{word}"*' if len(word) >= MIN_PREFIX_LENGTH else f'"{word}"' for word in spellings
    ]
    return quoted[0] if len(quoted) == 1 else f"({' OR '.join(quoted)})"


class SearchIndex:
    """The search index, read through one long-lived read-only connection of its own.

    A page of results is one statement, and this way one trip to the connection's thread: through
    a pooled ORM session the same query cost five times the CPU, the most of any command's work.
    Each statement sees the latest commit, so rows added by anyone are found at once.
    """

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        # The index's terms for close spellings, read again when the database has changed.
        self._vocabulary = Vocabulary(())
        self._vocabulary_version: int | None = None

    @classmethod
    async def open(cls, url: str) -> SearchIndex:
        """Open the index of the SQLite database at a SQLAlchemy URL."""
        path = make_url(url).database
        if not path or path == ":memory:":
            raise ValueError(f"search needs an SQLite database file, not {url!r}")
        return cls(await aiosqlite.connect(f"file:{path}?mode=ro", uri=True))

    async def close(self) -> None:
        await self._connection.close()

    async def search(
        self, query: str, *, limit: int = 10, offset: int = 0, language: str = "en"
    ) -> Results:
        """Best matches first: every word if anything has them all, otherwise any of them;
        if nothing has any, the same for close spellings of the words (Сахиев, Sakhiev).
        Words are looked for in every language; hits are in the reader's `language` where
        translated."""
        typed = words(query)
        if not typed:
            return Results(hits=[], total=0)
        page = Page(QUERIES.get(language, QUERIES["en"]), limit, offset)
        found = await self._matching(match_terms(typed), page)
        if found.total:
            return found
        vocabulary = await self._current_vocabulary()
        respelled = [vocabulary.close(word) for word in typed]
        if not any(respelled):
            return found
        close = await self._matching([spellings for spellings in respelled if spellings], page)
        return Results(hits=close.hits, total=close.total, respelled=True)

    async def _matching(self, terms: Sequence[str | Sequence[str]], page: Page) -> Results:
        for operator in ("AND", "OR") if len(terms) > 1 else ("AND",):
            match = match_expression(terms, operator=operator)
            params = {"match": match, "limit": page.limit, "offset": page.offset}
            rows = await self._connection.execute_fetchall(page.statement, params)
            if rows:
                hits = [
                    Hit(kind, item_id, title, snippet) for kind, item_id, title, snippet, _ in rows
                ]
                return Results(hits=hits, total=next(iter(rows))[4])
            if page.offset:
                # Past the last page (a stale button): no hits here, but say how many there are.
                (total,), *_ = await self._connection.execute_fetchall(COUNT, {"match": match})
                if total:
                    return Results(hits=[], total=total)
        return Results(hits=[], total=0)

    async def _current_vocabulary(self) -> Vocabulary:
        """The terms as of the latest change to the curated tables, whose triggers count
        every write (storage.models.Revision): a digest's ledger writes do not re-read them."""
        rows = await self._connection.execute_fetchall(REVISION)
        version = next(iter(rows))[0] if rows else 0
        if version != self._vocabulary_version:
            rows = await self._connection.execute_fetchall(TERMS)
            # Off the event loop: with translations the terms run to tens of thousands, a few
            # hundred milliseconds of work that no other chat should wait for.
            self._vocabulary = await asyncio.to_thread(Vocabulary, [term for (term,) in rows])
            self._vocabulary_version = version
        return self._vocabulary


async def optimize(session: AsyncSession) -> None:
    """Compact the index; worth it after a bulk load, needless after a single edit."""
    await session.execute(_OPTIMIZE)
