"""The public command menu, published with setMyCommands on start."""

from __future__ import annotations

from telegram import BotCommand

from bot.texts import Texts, available_languages, texts_for

PUBLIC_COMMANDS = (
    "about",
    "timeline",
    "agreements",
    "people",
    "who",
    "delegation",
    "facilities",
    "facts",
    "events",
    "next",
    "calendar",
    "search",
    "subscribe",
    "settings",
    "unsubscribe",
    "digest",
    "language",
    "zone",
    "help",
)


def menu(t: Texts) -> list[BotCommand]:
    return [BotCommand(name, t(f"command.{name}")) for name in PUBLIC_COMMANDS]


def languages() -> dict[str | None, Texts]:
    """The texts per language code Telegram is told of; ``None`` is the default, English, for
    the languages we do not have."""
    found: dict[str | None, Texts] = {None: texts_for(None)}
    found |= {
        language: texts_for(language) for language in available_languages() if language != "en"
    }
    return found


def menus() -> dict[str | None, list[BotCommand]]:
    """The menu per language code; ``None`` is the default for languages we do not have."""
    return {language: menu(t) for language, t in languages().items()}
