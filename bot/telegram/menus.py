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
    "search",
    "subscribe",
    "settings",
    "unsubscribe",
    "digest",
    "help",
)


def menu(t: Texts) -> list[BotCommand]:
    return [BotCommand(name, t(f"command.{name}")) for name in PUBLIC_COMMANDS]


def menus() -> dict[str | None, list[BotCommand]]:
    """The menu per language code; ``None`` is the default for languages we do not have."""
    result: dict[str | None, list[BotCommand]] = {None: menu(texts_for(None))}
    for language in available_languages():
        if language != "en":
            result[language] = menu(texts_for(language))
    return result
