"""Full-text search over facts, people, facilities and events (SQLite FTS5)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

MAX_WORDS = 10
MAX_WORD_LENGTH = 64
# Shorter words match too much as prefixes ("b" is most of the index); they must match whole.
MIN_PREFIX_LENGTH = 3
# Marks around matched words in snippets: control characters no user text can carry through,
# so the caller can escape the snippet and only then turn them into markup.
MATCH_START, MATCH_END = "\x02", "\x03"
_WORD = re.compile(r"\w+", re.UNICODE)

# Title matches weigh ten times body matches; kind and item_id are not searched.
_QUERY = text(
    f"""
    SELECT kind, item_id, title,
           snippet(search_index, 3, '{MATCH_START}', '{MATCH_END}', '…', 16) AS snippet
    FROM search_index
    WHERE search_index MATCH :match
    ORDER BY bm25(search_index, 0.0, 0.0, 10.0, 1.0), kind, item_id
    LIMIT :limit OFFSET :offset
    """
)
_COUNT = text("SELECT count(*) FROM search_index WHERE search_index MATCH :match")


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


def words(query: str) -> list[str]:
    """The words of a user's query, as FTS5 will see them; single letters say nothing."""
    found = [word[:MAX_WORD_LENGTH] for word in _WORD.findall(query)]
    return [word for word in found if len(word) > 1 or len(found) == 1][:MAX_WORDS]


def match_expression(terms: Sequence[str], *, operator: str) -> str:
    """An FTS5 query: terms quoted so no user text is syntax; longer ones match as prefixes."""
    return f" {operator} ".join(
        f'"{term}"*' if len(term) >= MIN_PREFIX_LENGTH else f'"{term}"' for term in terms
    )


async def search(
    session: AsyncSession, query: str, *, limit: int = 10, offset: int = 0
) -> Results:
    """Best matches first: every word if anything has them all, otherwise any of them."""
    terms = words(query)
    if not terms:
        return Results(hits=[], total=0)
    for operator in ("AND", "OR") if len(terms) > 1 else ("AND",):
        match = match_expression(terms, operator=operator)
        total = (await session.execute(_COUNT, {"match": match})).scalar_one()
        if total:
            rows = await session.execute(
                _QUERY, {"match": match, "limit": limit, "offset": offset}
            )
            hits = [Hit(row.kind, row.item_id, row.title, row.snippet) for row in rows]
            return Results(hits=hits, total=total)
    return Results(hits=[], total=0)
