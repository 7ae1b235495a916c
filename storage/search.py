"""Full-text search over facts, people, facilities, events and agreements, in English and in
their Russian and Kazakh translations, on either database.

What each database does its own way, the statements, is in storage/search_sqlite.py (FTS5) and
storage/search_postgresql.py (PostgreSQL's text search), with the indexes in migrations 0017
and 0019; the search itself is here, the same on both: every word first, then any, then close
spellings. The stems of Russian and Kazakh words (storage.stemming) and the close spellings
(storage.spelling) are plain Python, for any database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from storage import search_sqlite
from storage.dialect import on_postgresql
from storage.search_postgresql import TextSearch
from storage.search_sqlite import Fts5
from storage.search_words import MATCH_END, MATCH_START, Page, Row, Terms, match_terms, words
from storage.spelling import Vocabulary
from storage.urls import POSTGRESQL, backend

__all__ = ["MATCH_END", "MATCH_START", "Hit", "Results", "SearchIndex", "optimize", "words"]


class Index(Protocol):
    """What the search asks of a database's index."""

    async def page(self, terms: Terms, *, operator: str, page: Page) -> list[Row]: ...
    async def count(self, terms: Terms, *, operator: str) -> int: ...
    async def revision(self) -> int: ...
    async def terms(self) -> list[str]: ...
    async def close(self) -> None: ...


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


class SearchIndex:
    """The search, over the index of the database the bot runs on."""

    def __init__(self, index: Index) -> None:
        self.index = index
        # The index's terms for close spellings, read again when the database has changed.
        self._vocabulary = Vocabulary(())
        self._vocabulary_version: int | None = None

    @classmethod
    async def open(cls, url: str) -> SearchIndex:
        """The index of the database at a SQLAlchemy URL, on connections of its own."""
        if backend(url) == POSTGRESQL:
            return cls(await TextSearch.open(url))
        return cls(await Fts5.open(url))

    async def close(self) -> None:
        await self.index.close()

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
        page = Page(language, limit, offset)
        found = await self._matching(match_terms(typed), page)
        if found.total:
            return found
        vocabulary = await self._current_vocabulary()
        respelled = [vocabulary.close(word) for word in typed]
        if not any(respelled):
            return found
        close = await self._matching([spellings for spellings in respelled if spellings], page)
        return Results(hits=close.hits, total=close.total, respelled=True)

    async def _matching(self, terms: Terms, page: Page) -> Results:
        for operator in ("AND", "OR") if len(terms) > 1 else ("AND",):
            rows = await self.index.page(terms, operator=operator, page=page)
            if rows:
                hits = [
                    Hit(kind, item_id, title, snippet) for kind, item_id, title, snippet, _ in rows
                ]
                return Results(hits=hits, total=rows[0][4])
            if page.offset:
                # Past the last page (a stale button): no hits here, but say how many there are.
                total = await self.index.count(terms, operator=operator)
                if total:
                    return Results(hits=[], total=total)
        return Results(hits=[], total=0)

    async def _current_vocabulary(self) -> Vocabulary:
        """The terms as of the latest change to the curated tables, whose triggers count
        every write (storage.models.Revision): a digest's ledger writes do not re-read them."""
        version = await self.index.revision()
        if version != self._vocabulary_version:
            terms = await self.index.terms()
            # Off the event loop: with translations the terms run to tens of thousands, a few
            # hundred milliseconds of work that no other chat should wait for.
            self._vocabulary = await asyncio.to_thread(Vocabulary, terms)
            self._vocabulary_version = version
        return self._vocabulary


async def optimize(session: AsyncSession) -> None:
    """Compact the index after a bulk load (FTS5's segments); PostgreSQL's GIN index needs no
    such step."""
    if not on_postgresql(session):
        await search_sqlite.optimize(session)
