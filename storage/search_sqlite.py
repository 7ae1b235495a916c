"""Search on SQLite: FTS5, over the index of migration 0017, read on a connection of its own."""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import KNOWLEDGE
from storage.search_words import (
    MATCH_END,
    MATCH_START,
    MIN_PREFIX_LENGTH,
    SNIPPET_WORDS,
    Page,
    Row,
    Terms,
)

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
OPTIMIZE = text("INSERT INTO search_index (search_index) VALUES ('optimize')")


def match_expression(terms: Terms, *, operator: str) -> str:
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


class Fts5:
    """The index, read through one long-lived read-only connection of its own.

    A page of results is one statement, and this way one trip to the connection's thread: through
    a pooled ORM session the same query cost five times the CPU, the most of any command's work.
    Each statement sees the latest commit, so rows added by anyone are found at once.
    """

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    @classmethod
    async def open(cls, url: str) -> Fts5:
        """Open the index of the SQLite database at a SQLAlchemy URL."""
        path = make_url(url).database
        if not path or path == ":memory:":
            raise ValueError(f"search needs an SQLite database file, not {url!r}")
        return cls(await aiosqlite.connect(f"file:{path}?mode=ro", uri=True))

    async def close(self) -> None:
        await self._connection.close()

    async def page(self, terms: Terms, *, operator: str, page: Page) -> list[Row]:
        match = match_expression(terms, operator=operator)
        params = {"match": match, "limit": page.limit, "offset": page.offset}
        statement = QUERIES.get(page.language, QUERIES["en"])
        rows = await self._connection.execute_fetchall(statement, params)
        return [
            (kind, item_id, title, snippet, total) for kind, item_id, title, snippet, total in rows
        ]

    async def count(self, terms: Terms, *, operator: str) -> int:
        match = match_expression(terms, operator=operator)
        (total,), *_ = await self._connection.execute_fetchall(COUNT, {"match": match})
        return int(total)

    async def revision(self) -> int:
        rows = await self._connection.execute_fetchall(REVISION)
        return int(next(iter(rows))[0]) if rows else 0

    async def terms(self) -> list[str]:
        return [term for (term,) in await self._connection.execute_fetchall(TERMS)]


async def optimize(session: AsyncSession) -> None:
    await session.execute(OPTIMIZE)
