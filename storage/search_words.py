"""A query's words as the search indexes take them, and what both indexes hand back."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from storage import stemming

MAX_WORDS = 10
MAX_WORD_LENGTH = 64
# Shorter words match too much as prefixes ("b" is most of the index); they must match whole.
MIN_PREFIX_LENGTH = 3
# Marks around matched words in snippets: control characters no user text can carry through,
# so the caller can escape the snippet and only then turn them into markup.
MATCH_START, MATCH_END = "\x02", "\x03"
SNIPPET_WORDS = 16
# A word, with its hyphenated parts: "IBR-2" and "DC-60" are one name, searched as a phrase.
_WORD = re.compile(r"\w+(?:-\w+)*", re.UNICODE)

# Each term: a word, or a few spellings of one word any of which matches.
Terms = Sequence[str | Sequence[str]]
# A hit as an index reads it: kind, item id, title, snippet, and the total of hits.
Row = tuple[str, str, str, str, int]


@dataclass(frozen=True)
class Page:
    """Which page of results, for a reader of which language."""

    language: str
    limit: int
    offset: int


def words(query: str) -> list[str]:
    """The words of a user's query, as the index will see them; single letters say nothing."""
    found = [word[:MAX_WORD_LENGTH] for word in _WORD.findall(query)]
    return [word for word in found if len(word) > 1 or len(found) == 1][:MAX_WORDS]


def match_terms(words: Sequence[str]) -> list[str | Sequence[str]]:
    """The words as the index is searched for them: a Russian or Kazakh word by the stems its
    forms share (storage.stemming), any other as it is."""
    return [stemming.stems(word) or word for word in words]
