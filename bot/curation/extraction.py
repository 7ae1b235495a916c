"""What a fetched page says: its title, date, main text, language and publisher, and the
sentences of its text that mention the cooperation.

The reading is trafilatura's (README, "Libraries, and why"): the main text without menus and
footers, the title, the date through htmldate, the site's name. It is synchronous and
CPU-bound (lxml, a fraction of a second on a long page), so a handler calls `extract` in a
thread: ``await asyncio.to_thread(extract, page)``, never on the event loop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

import trafilatura
from lxml.html import HtmlElement
from trafilatura.settings import Document
from trafilatura.utils import load_html
from yarl import URL

from bot.curation.fetching import Page
from storage.stemming import stems

# htmldate's search confined to what the page's markup declares (meta tags, JSON-LD, <time>,
# the URL): its extensive search also takes any date written in the text, and a source's date
# that is only a guess is worse than none, which a curator sees is missing.
DATE_SEARCH = {"extensive_search": False, "original_date": True}
# trafilatura names a page that declares no site after its URL's host, less "www." (its
# metadata.py, META_URL): no declaration, so the page's own host is used instead.
URL_SITE = re.compile(r"https?://(?:www\.|w[0-9]+\.)?([^/]+)")
LANGUAGE_TAG = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]+)*")
# What names the cooperation in any page, beside the people and facilities of the record.
COOPERATION = (
    "Kazakhstan",
    "Kazakh",
    "Almaty",
    "Astana",
    "INP",
    "NAS RK",
    "Казахстан",
    "Қазақстан",
    "Алматы",
    "Астана",
    "ИЯФ",
)
# About a long paragraph: enough to judge a mention by, short enough for a message.
SENTENCE_LIMIT = 400
# A sentence ends at ".", "!", "?" or "…" (with any closing quotes or brackets) and the space
# after it, when an upper-case letter, a digit or an opening quote follows, and the word before
# the full stop is no initial ("V. Kekelidze") or title ("Dr. Sadykova", "акад. Петров"); a
# line break (a paragraph's end) always ends one. Simple rules, no language model: a rare wrong
# split only shortens a sentence shown, and never loses a mention.
SENTENCE_END = re.compile(r"[.!?…]+[\"'»”’)\]]*\s+")
ABBREVIATIONS = frozenset(
    {"dr", "mr", "mrs", "ms", "prof", "st", "no", "vs", "acad", "акад", "проф", "им", "ул"}
)
LAST_WORD = re.compile(r"(\w+)\.$")
OPENING = "\"'«„“\u2018(["


@dataclass(frozen=True)
class Extracted:
    """A page's reading; `publisher` is the site's declared name, else its host."""

    title: str | None
    published: date | None
    text: str
    language: str | None
    publisher: str | None


def extract(page: Page) -> Extracted | None:
    """The page's main text and metadata, or None where there is no text to speak of.

    Blocking: call it as ``await asyncio.to_thread(extract, page)``.
    """
    # The bytes, not text decoded by the server's charset: trafilatura tries UTF-8, then the
    # page's <meta>, then detection, which also reads a page whose server names the wrong
    # charset (an old default of ISO-8859-1 on a UTF-8 site; tests/test_extraction.py).
    tree = load_html(page.body)
    if tree is None:
        return None
    document = trafilatura.bare_extraction(
        tree,
        url=page.url,
        with_metadata=True,
        include_comments=False,
        date_extraction_params=DATE_SEARCH,
    )
    if not isinstance(document, Document) or not (document.text or "").strip():
        return None
    return Extracted(
        title=document.title or None,
        published=_date(document.date),
        text=(document.text or "").strip(),
        language=_language(document.language) or _declared_language(tree),
        publisher=_declared_site(document) or URL(page.url).host,
    )


def _date(found: str | None) -> date | None:
    """htmldate's ISO date, as a date."""
    try:
        return date.fromisoformat(found) if found else None
    except ValueError:
        return None


def _language(tag: str | None) -> str | None:
    """A language tag's primary subtag in lower case ("en-GB" is "en"); None if no tag."""
    match = LANGUAGE_TAG.fullmatch(tag.strip()) if tag else None
    return match[1].lower() if match else None


def _declared_language(tree: HtmlElement) -> str | None:
    """The language the page declares: <html lang> (or xml:lang), else a Content-Language
    <meta>. trafilatura reads these only to filter pages by a language asked for."""
    root = tree.getroottree().getroot()
    declared = root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    if not declared:
        metas = root.xpath(
            '//meta[translate(@http-equiv, "CONTELAGU", "contelagu")="content-language"]/@content'
        )
        declared = str(metas[0]).split(",")[0] if metas else None
    return _language(declared)


def _declared_site(document: Document) -> str | None:
    """The site's name as the page declares it (og:site_name, JSON-LD, the title's tail)."""
    name = (document.sitename or "").strip()
    fallback = URL_SITE.match(document.url or "")
    if not name or (fallback is not None and name == fallback[1]):
        return None
    return name


def mentions(text: str, names: Iterable[str]) -> list[str]:
    """The sentences of `text` that mention the cooperation or one of `names`, in text order,
    each once and at most about `SENTENCE_LIMIT` characters (cut at words around the mention).

    Whole words, any case: "INP" is found in "the INP team", not in "input"; words of a name
    may be spaced any way ("NAS  RK"); a Russian or Kazakh word in any of its forms
    ("Казахстан" in "Республики Казахстана", "Алматы" in "Алматыда").
    """
    terms = [term.split() for term in (*COOPERATION, *names) if term.strip()]
    alternatives = "|".join(r"\s+".join(map(_any_form, words)) for words in terms)
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
    found: list[str] = []
    seen: set[str] = set()
    for sentence in _sentences(text):
        match = pattern.search(sentence)
        if match is None:
            continue
        shown = _clipped(sentence, match.start(), match.end())
        if (key := shown.casefold()) not in seen:
            seen.add(key)
            found.append(shown)
    return found


def _any_form(word: str) -> str:
    """A pattern for the word as written, or for a Russian or Kazakh word in any form: its
    stems and any ending (the search's stems, storage.stemming)."""
    found = stems(word)
    return f"(?:{'|'.join(map(re.escape, found))})\\w*" if found else re.escape(word)


def _sentences(text: str) -> Iterator[str]:
    """The text's sentences (rules at SENTENCE_END), each with its spaces collapsed."""
    for line in text.splitlines():
        start = 0
        for end in SENTENCE_END.finditer(line):
            following = line[end.end() : end.end() + 1]
            if _ends_sentence(line[start : end.start() + 1], following):
                yield from _nonempty(line[start : end.end()])
                start = end.end()
        yield from _nonempty(line[start:])


def _ends_sentence(before: str, following: str) -> bool:
    """Whether the mark at the end of `before` ends a sentence, given the character after."""
    if not (following.isupper() or following.isdigit() or (following and following in OPENING)):
        return False
    word = LAST_WORD.search(before)
    return word is None or (len(word[1]) > 1 and word[1].lower() not in ABBREVIATIONS)


def _nonempty(sentence: str) -> Iterator[str]:
    if words := sentence.split():
        yield " ".join(words)


def _clipped(sentence: str, start: int, end: int) -> str:
    """The sentence, or as much of it around [start, end) as the limit allows, cut at words
    and marked with "…" where cut."""
    if len(sentence) <= SENTENCE_LIMIT:
        return sentence
    room = max(SENTENCE_LIMIT - (end - start), 0)
    left = max(0, min(start - room // 2, len(sentence) - SENTENCE_LIMIT))
    right = left + SENTENCE_LIMIT
    if left > 0:
        space = sentence.find(" ", left, start)
        left = space + 1 if space != -1 else left
    if right < len(sentence):
        space = sentence.rfind(" ", end, right)
        right = space if space != -1 else right
    head = "…" if left > 0 else ""
    tail = "…" if right < len(sentence) else ""
    return f"{head}{sentence[left:right].strip()}{tail}"
