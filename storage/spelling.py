"""Close spellings: a word as typed, matched to the words the search index holds.

Names reach us in several spellings (Sakhiyev, Sakhiev; Tokayev, Tokaev) and scripts (Сахиев,
Дубна). A word is folded to lowercase Latin letters (Russian and Kazakh letters transliterated,
accents dropped), then compared by edit distance with the index's terms, folded the same way,
over the few terms that share the most letter trigrams with it: a handful of comparisons, not
the whole vocabulary. So a misspelt word finds the record's English and its translations
alike ("Трубникоф": "trubnikov" and "трубников").
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable

# Russian, then the letters Kazakh adds, as a reader of Latin script would spell them.
_CYRILLIC = {
    **dict(zip("абвгдезийклмнопрстуфы", "abvgdeziyklmnoprstufy", strict=True)),
    **{"ё": "e", "ж": "zh", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch"},  # noqa: RUF001 (Cyrillic on purpose)
    **{"ъ": "", "ь": "", "э": "e", "ю": "yu", "я": "ya"},
    **dict(zip("әғқңөұүһі", "agknouuhi", strict=True)),
}
_TRANSLITERATION = str.maketrans(_CYRILLIC)
# Terms compared in full per word: the ones sharing the most trigrams with it.
CANDIDATES = 48
# Close terms used per word, nearest first.
ALTERNATIVES = 3


def fold(word: str) -> str:
    """Lowercase Latin letters and digits, as the index stores its terms (less stemming)."""
    latin = word.lower().translate(_TRANSLITERATION)
    decomposed = unicodedata.normalize("NFKD", latin)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def allowed_distance(length: int) -> int:
    """Edits forgiven in a word this long: none in short words, where one edit is another word."""
    return 0 if length <= 4 else 1 if length <= 7 else 2


def distance(first: str, second: str, limit: int) -> int:
    """Levenshtein distance, or ``limit + 1`` as soon as it must exceed ``limit``."""
    if abs(len(first) - len(second)) > limit:
        return limit + 1
    previous = list(range(len(second) + 1))
    for row, letter in enumerate(first, start=1):
        current = [row]
        for column, other in enumerate(second, start=1):
            current.append(
                min(
                    previous[column] + 1,
                    current[column - 1] + 1,
                    previous[column - 1] + (letter != other),
                )
            )
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def _trigrams(word: str) -> set[str]:
    padded = f"${word}$"
    return {padded[start : start + 3] for start in range(len(padded) - 2)}


class Vocabulary:
    """The index's terms, by the trigrams of their folded spelling, to find the ones close to a
    typed word in either script: the index holds the record's Russian and Kazakh words too."""

    def __init__(self, terms: Iterable[str]) -> None:
        self._terms = sorted(set(terms))
        self._known = frozenset(self._terms)
        self._folded = [fold(term) for term in self._terms]
        self._by_trigram: defaultdict[str, list[int]] = defaultdict(list)
        for number, folded in enumerate(self._folded):
            for trigram in _trigrams(folded):
                self._by_trigram[trigram].append(number)

    def __len__(self) -> int:
        return len(self._terms)

    def close(self, word: str) -> list[str]:
        """The terms nearest the word, if any is near enough; the folded word if it is one.
        A term in the other script that folds to the word is as near as can be ("Tokaev":
        "токаев", then "tokayev")."""
        folded = fold(word)
        if folded in self._known:
            return [folded]
        limit = allowed_distance(len(folded))
        shared: Counter[int] = Counter()
        for trigram in _trigrams(folded):
            shared.update(self._by_trigram.get(trigram, ()))
        scored = []
        for number, _ in shared.most_common(CANDIDATES):
            term = self._folded[number]
            # The index keeps stems ("deleg" for "delegation"): a long enough stem of the word
            # counts as a match.
            stem = len(term) >= max(4, len(folded) * 3 // 5) and folded.startswith(term)
            edits = 0 if stem else distance(folded, term, limit)
            if edits <= limit:
                scored.append((edits, self._terms[number]))
        return [term for _, term in sorted(scored)[:ALTERNATIVES]]
