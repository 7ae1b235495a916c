"""Russian and Kazakh for bench/search.py: each generated fact's title and text in both
languages, as translation rows, and queries in other forms of their words.

Each language has made-up stems over its alphabet, with real words of the record ("реактор",
"Дубна", "Алматы") mixed in at random ranks, drawn with Zipf's law like the English words. Each
occurrence of a stem takes an ending of its language (Russian case endings; Kazakh plural and
case endings, in the form that follows a vowel, which every made-up Kazakh stem ends in), and so
does each query's: a query's form of a word is mostly not the one the text has, which is what
the stemming is for.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

STEMS = 3000
RUSSIAN_ENDINGS = ("", "а", "у", "ом", "е", "ы", "ов", "ам", "ами", "ах")  # noqa: RUF001 (Cyrillic)
KAZAKH_ENDINGS = ("", "лар", "да", "ның", "ға", "дан", "ларда", "лардың", "мен")
# Real words of the record, by stem, with the endings they take.
RUSSIAN_WORDS = {
    **dict.fromkeys(("реактор", "нейтрон", "детектор", "циклотрон"), RUSSIAN_ENDINGS),
    **dict.fromkeys(("институт", "эксперимент", "Казахстан"), RUSSIAN_ENDINGS),
    "Дубн": ("а", "е", "у", "ой", "ы"),  # noqa: RUF001 (Cyrillic on purpose)
    "Алматы": ("",),
}
KAZAKH_WORDS = {
    **dict.fromkeys(("реактор", "институт", "Қазақстан"), ("", "да", "ға", "дың", "тар")),
    **dict.fromkeys(("Дубна", "Алматы", "физика", "зерттеу"), KAZAKH_ENDINGS),
}
# Query forms of real words, none as the generated text has them all.
CONTENT_QUERIES = (
    *("реакторы", "Дубна", "в Дубне", "Алматыда", "реакторлар", "нейтронов"),
    *("Казахстане", "Дубнада", "Қазақстанның", "зерттеулер", "физикалар"),
)


@dataclass(frozen=True)
class Language:
    """One language's stems, Zipf-weighted, and the endings each takes."""

    code: str
    stems: Sequence[str]
    endings: Mapping[str, Sequence[str]]
    weights: Sequence[float]

    def word(self, rng: random.Random, stem: str | None = None) -> str:
        stem = stem or rng.choices(self.stems, self.weights)[0]
        return stem + rng.choice(self.endings[stem])

    def sentence(self, rng: random.Random, count: int) -> str:
        return " ".join(self.word(rng) for _ in range(count))


def language(
    code: str,
    rng: random.Random,
    *,
    consonants: str,
    vowels: str,
    real: Mapping[str, Sequence[str]],
    endings: Sequence[str],
    final_vowel: bool,
) -> Language:
    """Made-up stems (a vowel last where `final_vowel`) and the real ones, shuffled."""
    made_up: set[str] = set()
    while len(made_up) < STEMS - len(real):
        syllables = "".join(
            rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 3))
        )
        made_up.add(syllables if final_vowel else syllables + rng.choice(consonants))
    stems = [*sorted(made_up), *real]
    rng.shuffle(stems)
    table = {stem: real.get(stem, endings) for stem in stems}
    return Language(code, stems, table, [1 / (rank + 1) for rank in range(len(stems))])


def languages(rng: random.Random) -> tuple[Language, Language]:
    """Russian and Kazakh."""
    russian = language(
        "ru",
        rng,
        consonants="бвгдзклмнпрстфх",
        vowels="аеиоуы",
        real=RUSSIAN_WORDS,
        endings=RUSSIAN_ENDINGS,
        final_vowel=False,
    )
    kazakh = language(
        "kk",
        rng,
        consonants="бғджзқлмнңпрст",
        vowels="аәеыіоөұү",
        real=KAZAKH_WORDS,
        endings=KAZAKH_ENDINGS,
        final_vowel=True,
    )
    return russian, kazakh


def translations(
    spoken_languages: Sequence[Language], count: int, rng: random.Random
) -> Iterator[tuple[str, str, str, str]]:
    """(item id, field, language, text) for the title and text of `count` generated facts."""
    for spoken in spoken_languages:
        for number in range(count):
            title = spoken.sentence(rng, rng.randint(3, 8))
            text = ". ".join(
                spoken.sentence(rng, rng.randint(6, 18)) for _ in range(rng.randint(2, 6))
            )
            yield f"gen-{number:05d}", "title", spoken.code, title[:1].upper() + title[1:]
            yield f"gen-{number:05d}", "text", spoken.code, text[:1].upper() + text[1:] + "."


def queries(
    russian: Language, kazakh: Language, count: int, rng: random.Random
) -> list[tuple[str, str]]:
    """(kind, query) pairs of Russian and Kazakh words, in shares of `count`."""

    def some(spoken: Language, words: int) -> Callable[[], str]:
        return lambda: " ".join(
            spoken.word(rng, rng.choice(spoken.stems[:1000])) for _ in range(words)
        )

    makers: dict[str, tuple[float, Callable[[], str]]] = {
        "russian word": (0.1, some(russian, 1)),
        "kazakh word": (0.1, some(kazakh, 1)),
        "russian two words": (0.05, some(russian, 2)),
        "cyrillic content": (0.05, lambda: rng.choice(CONTENT_QUERIES)),
    }
    return [
        (kind, make())
        for kind, (share, make) in makers.items()
        for _ in range(round(share * count))
    ]
