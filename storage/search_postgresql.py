"""Search on PostgreSQL: its own full-text search over migration 0019's ``search_text``.

A query word is looked for through the English stemmer (the English columns were indexed
through it) and as written (the other spellings, and the Russian and Kazakh words, whose stems
storage.stemming gives); words of three letters or more match as prefixes, as on SQLite.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

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

TRANSLATED = ("ru", "kk")
# ts_rank's weights of D, C, B and A, which it takes from 0 to 1: bodies 1, titles 10 and
# other spellings 50 (migration 0019), divided by 50. Normalisation 1 divides by the log of the
# document's length, as bm25 does on SQLite: of two equal matches the shorter text comes first.
WEIGHTS = "'{0.02, 0, 0.2, 1}'"
HEADLINE = (
    f"StartSel={MATCH_START}, StopSel={MATCH_END}, MaxWords={SNIPPET_WORDS}, "
    "MinWords=6, ShortWord=2, MaxFragments=1"
)
# A text no longer than a snippet is shown whole, with its punctuation, as SQLite shows it.
WHOLE = f"StartSel={MATCH_START}, StopSel={MATCH_END}, HighlightAll=true"
# PostgreSQL marks a hyphenated word's parts one by one; it reads as one word, as on SQLite.
_JOINED = (f"{MATCH_END}-{MATCH_START}", "-")
OPERATORS = {"AND": " && ", "OR": " || "}
REVISION = text(f"SELECT value FROM revisions WHERE name = '{KNOWLEDGE}'")
TERMS = text("SELECT word FROM ts_stat('SELECT document FROM search_text')")


def _shown(language: str) -> tuple[str, str]:
    """A hit's title and snippet for a reader of `language`: translated where the item is."""
    english = _headline("english", "body")
    if language not in TRANSLATED:
        return "title", english
    return (
        f"CASE WHEN title_{language} <> '' THEN title_{language} ELSE title END",
        f"CASE WHEN body_{language} <> '' "
        f"THEN {_headline('simple', f'body_{language}')} ELSE {english} END",
    )


def _headline(config: str, column: str) -> str:
    short = f"array_length(regexp_split_to_array(btrim({column}), '\\s+'), 1) <= :words"
    return (
        f"CASE WHEN {short} THEN ts_headline('{config}', {column}, query, :whole) "
        f"ELSE ts_headline('{config}', {column}, query, :headline) END"
    )


def query_for(language: str, matching: str) -> str:
    """A page of hits, best first, with the total: the snippets are made for the page only.

    Every match is ranked, and only its id and rank go on to be counted and sorted: a window
    over the matched rows themselves would copy each document into its buffer: for a word in
    half of bench/search.py's 2,000 facts, 14 ms against 6."""
    title, snippet = _shown(language)
    return f"""
    WITH q AS (SELECT {matching} AS query),
    ranked AS MATERIALIZED (
        SELECT s.id, ts_rank({WEIGHTS}, s.document, q.query, 1) AS rank
        FROM search_text s, q WHERE s.document @@ q.query
    ),
    hits AS (
        SELECT id, rank, count(*) OVER () AS total FROM ranked
        ORDER BY rank DESC, id LIMIT :limit OFFSET :offset
    )
    SELECT kind, item_id, {title} AS title, {snippet} AS snippet, total
    FROM hits JOIN search_text USING (id), q ORDER BY hits.rank DESC, hits.id
"""


def matching(terms: Terms, *, operator: str) -> tuple[str, dict[str, str]]:
    """The tsquery for the terms, as SQL with bound parameters: no user text is syntax."""
    params: dict[str, str] = {}
    parts = []
    for term in terms:
        spellings = []
        for word in [term] if isinstance(term, str) else term:
            name = f"w{len(params)}"
            params[name] = _lexeme(word)
            spellings.append(f"to_tsquery('english', :{name}) || to_tsquery('simple', :{name})")
        parts.append(f"({' || '.join(spellings)})")
    return OPERATORS[operator].join(parts), params


def _lexeme(word: str) -> str:
    quoted = "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"
    return f"{quoted}:*" if len(word) >= MIN_PREFIX_LENGTH else quoted


class TextSearch:
    """The index, read through a small pool of its own, apart from the bot's sessions."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    async def open(cls, url: str) -> TextSearch:
        # A query of stop words only ("the") is empty for the English stemmer: PostgreSQL says
        # so in a NOTICE that is not worth a log line per search. The planner prices `@@` as
        # if a document cost nothing to read, and for a word in a tenth of the items would
        # scan them all, unpacking every document, rather than take the GIN index: five
        # times slower (bench/search.py). These connections run the search alone.
        settings = {"client_min_messages": "warning", "enable_seqscan": "off"}
        engine = create_async_engine(url, pool_size=2, connect_args={"server_settings": settings})
        return cls(engine)

    async def close(self) -> None:
        await self._engine.dispose()

    async def page(self, terms: Terms, *, operator: str, page: Page) -> list[Row]:
        where, params = matching(terms, operator=operator)
        statement = text(query_for(page.language, where))
        values: dict[str, Any] = {
            **params,
            "limit": page.limit,
            "offset": page.offset,
            "headline": HEADLINE,
            "whole": WHOLE,
            "words": SNIPPET_WORDS,
        }
        async with self._engine.connect() as connection:
            rows = (await connection.execute(statement, values)).all()
        return [
            (kind, item_id, title, snippet.replace(*_JOINED), int(total))
            for kind, item_id, title, snippet, total in rows
        ]

    async def count(self, terms: Terms, *, operator: str) -> int:
        where, params = matching(terms, operator=operator)
        statement = text(f"SELECT count(*) FROM search_text WHERE document @@ ({where})")
        async with self._engine.connect() as connection:
            return int((await connection.execute(statement, params)).scalar_one())

    async def revision(self) -> int:
        async with self._engine.connect() as connection:
            value = (await connection.execute(REVISION)).scalar()
        return int(value or 0)

    async def terms(self) -> list[str]:
        async with self._engine.connect() as connection:
            return list((await connection.execute(TERMS)).scalars())
