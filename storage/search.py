"""Full-text search over facts, people, facilities and events (SQLite FTS5)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

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

# Title matches weigh ten times body matches, and a match of a name or another spelling of it
# (the aliases column, which holds a person's name too) fifty: a name finds its person or
# facility before the facts that mention it. Kind and item_id are not searched. Ties
# break on rowid: unique and stable, and unlike the stored columns it costs no read per row.
# The total rides along as a subquery, so a page is one round trip to the database.
QUERY = f"""
    SELECT kind, item_id, title,
           snippet(search_index, 3, '{MATCH_START}', '{MATCH_END}', '…', 16) AS snippet,
           (SELECT count(*) FROM search_index WHERE search_index MATCH :match) AS total
    FROM search_index
    WHERE search_index MATCH :match
    ORDER BY bm25(search_index, 0.0, 0.0, 10.0, 1.0, 50.0), rowid
    LIMIT :limit OFFSET :offset
"""
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
class Results:
    hits: Sequence[Hit]
    total: int
    # Nothing matched as typed: these hits are for close spellings of the words.
    respelled: bool = False


def words(query: str) -> list[str]:
    """The words of a user's query, as FTS5 will see them; single letters say nothing."""
    found = [word[:MAX_WORD_LENGTH] for word in _WORD.findall(query)]
    return [word for word in found if len(word) > 1 or len(found) == 1][:MAX_WORDS]


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

    async def search(self, query: str, *, limit: int = 10, offset: int = 0) -> Results:
        """Best matches first: every word if anything has them all, otherwise any of them;
        if nothing has any, the same for close spellings of the words (Сахиев, Sakhiev)."""
        terms = words(query)
        if not terms:
            return Results(hits=[], total=0)
        found = await self._matching(terms, limit=limit, offset=offset)
        if found.total:
            return found
        vocabulary = await self._current_vocabulary()
        respelled = [vocabulary.close(term) for term in terms]
        if not any(respelled):
            return found
        close = await self._matching(
            [spellings for spellings in respelled if spellings], limit=limit, offset=offset
        )
        return Results(hits=close.hits, total=close.total, respelled=True)

    async def _matching(
        self, terms: Sequence[str | Sequence[str]], *, limit: int, offset: int
    ) -> Results:
        for operator in ("AND", "OR") if len(terms) > 1 else ("AND",):
            match = match_expression(terms, operator=operator)
            params = {"match": match, "limit": limit, "offset": offset}
            rows = await self._connection.execute_fetchall(QUERY, params)
            if rows:
                hits = [
                    Hit(kind, item_id, title, snippet) for kind, item_id, title, snippet, _ in rows
                ]
                return Results(hits=hits, total=next(iter(rows))[4])
            if offset:
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
            self._vocabulary = Vocabulary(term for (term,) in rows)
            self._vocabulary_version = version
        return self._vocabulary


async def optimize(session: AsyncSession) -> None:
    """Compact the index; worth it after a bulk load, needless after a single edit."""
    await session.execute(_OPTIMIZE)
