"""The stems a Russian or Kazakh word's forms share, to match the word in any of its forms.

FTS5's Porter stemmer knows English only, and the index keeps Cyrillic words as written
("Дубне", "реакторлар"). So a Cyrillic word of a query (or a name looked for in a page) is cut
to a stem that its forms begin with, and matched as a prefix: "реакторы" → "реактор", which
begins "реактор", "реактора", "реакторлар".

- A Russian word is stemmed by Snowball's Russian stemmer, but for a surname: Snowball knows
  no names and takes "Токаев" for a plural ("тока", which begins "токамак"), so a capitalised
  word that ends as Russian surnames do (-ов, -ев, -ин ...) is kept whole: its forms only add
  an ending ("Токаева", "Токаевым").
- Kazakh is not in Snowball. Its endings are added to an unchanged stem, each in the form the
  stem's last letter calls for (-лар after a vowel, -дар after л, м, н, -тар after a voiceless
  consonant ...): the case and plural endings are stripped, up to three, only where that form
  fits. A word of Russian letters alone may be either language ("Дубнада"), so both readings
  are kept, and Russian's is applied to what the Kazakh leaves ("дубна" → "дубн", which begins
  the Russian "Дубне" too).

No stem is shorter than ``MIN_STEM_LENGTH`` letters: a shorter one begins too many words.
A hyphenated word is stemmed in its last part ("вице-президента"); words of other scripts,
and with digits, are left as they are. The index keeps yo (ё) as written, so a stem typed with
it looks for it written as a plain ye too.
"""

from __future__ import annotations

import re
from functools import lru_cache

from snowballstemmer import stemmer

MIN_STEM_LENGTH = 4
# Endings stripped from a word, at most: a plural, a possessive and a case, as in
# "реактор-лар-ы-нда" (in its reactors).
MAX_ENDINGS = 3

_RUSSIAN_LETTERS = "\u0430-\u044f\u0451"  # a to ya, and yo
_KAZAKH_LETTERS = "әғқңөұүһі"
_RUSSIAN = re.compile(f"[{_RUSSIAN_LETTERS}]+")
_CYRILLIC = re.compile(f"[{_RUSSIAN_LETTERS}{_KAZAKH_LETTERS}]+")
_VOWELS = "аәеёиоөуұүыіэюя"
_SURNAME_ENDINGS = ("ов", "ев", "ёв", "ин", "ын")
_VOICED = "лмнңрйузж"
_VOICELESS = "кқпстфхцчшщбвгд"
# Kazakh endings, each with the letters its form may follow; longer endings are tried first.
# The ablative after a voiceless consonant (-тан) is left out: it would cut "Қазақстан".
_KAZAKH_ENDINGS: tuple[tuple[tuple[str, ...], str], ...] = (
    # Case after the 3rd person possessive: "институтында", "университетінің".
    (("ында", "інде", "ынан", "інен", "ының", "інің", "ына", "іне"), _VOICELESS + _VOICED),
    (("сында", "сінде", "сының", "сінің", "сына", "сіне"), _VOWELS),
    (("дағы", "дегі"), _VOWELS + _VOICED),
    (("тағы", "тегі"), _VOICELESS),
    (("лар", "лер"), _VOWELS + "рйу"),
    (("дар", "дер"), "лмнңзж"),
    (("тар", "тер"), _VOICELESS),
    (("ның", "нің"), _VOWELS + "мнң"),
    (("дың", "дің"), "лрйузж"),
    (("тың", "тің"), _VOICELESS),
    (("дан", "ден"), _VOWELS + "лрйузж"),
    (("нан", "нен"), "мнң"),
    (("да", "де"), _VOWELS + _VOICED),
    (("та", "те"), _VOICELESS),
    (("ға", "ге"), _VOWELS + _VOICED),  # noqa: RUF001 (Kazakh on purpose)
    (("қа", "ке"), _VOICELESS),
)
_ENDINGS = sorted(
    ((ending, follows) for endings, follows in _KAZAKH_ENDINGS for ending in endings),
    key=lambda pair: -len(pair[0]),
)
_SNOWBALL = stemmer("russian")
# Most Russian texts write yo as a plain ye ("учёные", "ученые"): a stem with it looks for both.
_PLAIN_YE = str.maketrans({"ё": "е"})  # noqa: RUF001 (Cyrillic on purpose)


@lru_cache(maxsize=4096)
def stems(word: str) -> tuple[str, ...]:
    """The stems, lower case, that the forms of a Russian or Kazakh word begin with, none
    beginning another; () for a word of another script or shorter than ``MIN_STEM_LENGTH``."""
    head, hyphen, last = word.rpartition("-")
    if hyphen:
        return tuple(f"{head.lower()}-{stem}" for stem in stems(last))
    lower = word.lower()
    if len(lower) < MIN_STEM_LENGTH or not _CYRILLIC.fullmatch(lower):
        return ()
    surname = word[:1].isupper() and lower.endswith(_SURNAME_ENDINGS)
    found = {lower if surname else _stem(reading) for reading in {lower, _kazakh(lower)}}
    found |= {stem.translate(_PLAIN_YE) for stem in found}
    # A stem that begins with another adds nothing: the shorter one finds its words too.
    return tuple(
        sorted(stem for stem in found if not any(stem.startswith(o) for o in found - {stem}))
    )


def _stem(word: str) -> str:
    """A reading's stem, or the reading itself where the stem would be too short."""
    if not _RUSSIAN.fullmatch(word):
        # Kazakh: once its endings are gone, what is left does not change.
        return word
    # The stem keeps the letters as typed: Snowball writes yo (ё) as a plain ye.
    cut = word[: len(_SNOWBALL.stemWord(word))]
    return cut if len(cut) >= MIN_STEM_LENGTH else word


def _kazakh(word: str) -> str:
    """The word less up to ``MAX_ENDINGS`` Kazakh endings, each stripped only where its form
    fits the letter before it and what is left keeps ``MIN_STEM_LENGTH`` letters."""
    for _ in range(MAX_ENDINGS):
        for ending, follows in _ENDINGS:
            rest = word[: -len(ending)]
            if word.endswith(ending) and len(rest) >= MIN_STEM_LENGTH and rest[-1] in follows:
                word = rest
                break
        else:
            break
    return word
