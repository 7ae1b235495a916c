"""User-facing text: a gettext catalog per language, filled with escaped values.

Messages are keyed by id (``help.body``) and kept in ``bot/locales/<lang>/LC_MESSAGES/*.po``;
English is complete and is the fallback for any id another language lacks.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from functools import cache
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


def join(parts: list[Html], separator: str = "\n") -> Html:
    return Html(separator.join(parts))


class Texts:
    """The messages of one language, with English behind them."""

    def __init__(
        self, language: str, messages: Mapping[str, str], fallback: Mapping[str, str]
    ) -> None:
        self.language = language
        self._messages = messages
        self._fallback = fallback

    def __call__(self, key: str, /, **values: object) -> Html:
        template = self._messages.get(key) or self._fallback.get(key)
        if not template:
            raise KeyError(f"no message {key!r} in the catalog")
        return Html(template.format_map({name: escape(v) for name, v in values.items()}))

    def keys(self) -> frozenset[str]:
        return frozenset(self._messages) | frozenset(self._fallback)


@cache
def catalog(language: str) -> Mapping[str, str]:
    """The id → text table of one language, or an empty one if we have no such language.

    A language's folder may hold several catalogs (gettext domains: ``coopbot.po`` for
    everyone, ``admin.po`` for curators ...); their ids must not clash.
    """
    folder = LOCALES / language / "LC_MESSAGES"
    table: dict[str, str] = {}
    for path in sorted(folder.glob("*.po")) if folder.is_dir() else ():
        with path.open("rb") as file:
            messages = read_po(file, locale=language)
        for message in messages:
            if message.id and message.string:
                if str(message.id) in table:
                    raise ValueError(f"{path}: message {message.id!r} is in another catalog too")
                table[str(message.id)] = str(message.string)
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
