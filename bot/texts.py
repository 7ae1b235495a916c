"""User-facing text: a gettext catalog per language, filled with escaped values.

Messages are keyed by id (``help.body``) and kept in ``bot/locales/<lang>/LC_MESSAGES/*.po``;
English is complete and is the fallback for any id another language lacks.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from gettext import c2py
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = Path(__file__).with_name("locales")
DEFAULT_LANGUAGE = "en"


class Html(str):
    """Markup that is already safe to send; everything else is escaped on the way in."""

    __slots__ = ()


def escape(value: object) -> Html:
    """Escape data for Telegram's HTML parse mode, leaving ready markup as it is."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=True))


def shorten(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters; else cut at the last whole word, with "…".

    A single word longer than the limit (an address, say) is cut where the limit falls.
    """
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


def join(parts: list[Html], separator: str = "\n") -> Html:
    return Html(separator.join(parts))


@dataclass(frozen=True)
class Message:
    """One catalog entry: a text, or for a message with a count, a text per plural form."""

    forms: tuple[str, ...]
    # Which form a count takes, by the plural rule of the catalog's language.
    form_of: Callable[[int], int]

    def template(self, values: Mapping[str, object]) -> str:
        if len(self.forms) == 1:
            return self.forms[0]
        count = values.get("count")
        if not isinstance(count, int):
            raise TypeError("a message with plural forms needs an integer count=")
        return self.forms[min(self.form_of(count), len(self.forms) - 1)]


class Texts:
    """The messages of one language, with English behind them."""

    def __init__(
        self, language: str, messages: Mapping[str, Message], fallback: Mapping[str, Message]
    ) -> None:
        self.language = language
        self._messages = messages
        self._fallback = fallback

    def __call__(self, key: str, /, **values: object) -> Html:
        """The message filled with escaped values; ``count=`` picks its plural form, if any."""
        message = self._messages.get(key) or self._fallback.get(key)
        if message is None:
            raise KeyError(f"no message {key!r} in the catalog")
        template = message.template(values)
        return Html(template.format_map({name: escape(v) for name, v in values.items()}))

    def keys(self) -> frozenset[str]:
        return frozenset(self._messages) | frozenset(self._fallback)


@cache
def catalog(language: str) -> Mapping[str, Message]:
    """The id → message table of one language, or an empty one if we have no such language.

    A language's folder may hold several catalogs (gettext domains: ``coopbot.po`` for
    everyone, ``admin.po`` for curators ...); their ids must not clash. A message with a count
    is written as gettext writes plurals (``msgid_plural``, ``msgstr[0]`` ...), its forms chosen
    by the catalog's ``Plural-Forms`` rule, or by the language's own rule from Babel's data.
    """
    folder = LOCALES / language / "LC_MESSAGES"
    table: dict[str, Message] = {}
    for path in sorted(folder.glob("*.po")) if folder.is_dir() else ():
        with path.open("rb") as file:
            messages = read_po(file, locale=language)
        form_of = c2py(messages.plural_expr)
        for message in messages:
            ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
            texts = (
                message.string if isinstance(message.string, tuple | list) else (message.string,)
            )
            key, forms = str(ids[0]), tuple(str(text or "") for text in texts)
            if key and all(forms):
                if key in table:
                    raise ValueError(f"{path}: message {key!r} is in another catalog too")
                table[key] = Message(forms, form_of)
    return table


def texts_for(language: str | None) -> Texts:
    """Texts in the user's language where we have it, English otherwise."""
    base = (language or DEFAULT_LANGUAGE).split("-")[0].lower()
    if not (base.isascii() and base.isalpha() and len(base) <= 8):
        base = DEFAULT_LANGUAGE
    messages = catalog(base)
    if not messages:
        base = DEFAULT_LANGUAGE
    return Texts(base, messages, catalog(DEFAULT_LANGUAGE))


def available_languages() -> list[str]:
    return sorted(path.name for path in LOCALES.iterdir() if path.is_dir())
