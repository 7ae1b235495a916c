"""/language and /zone: the language a chat reads the bot in, and the zone it reads times in.

In a private chat the person decides; in a group only its admins, as for its digests. A choice
is written first and kept in memory after (bot/reader/preferences.py); a new language also
brings the chat's command menu in it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import BotCommandScopeChat, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import App, Context, pressed
from bot.curation.admins import admin_menu
from bot.reader.dates import zone_label
from bot.telegram.callbacks import CallbackData, ChatLanguage, ChatZone
from bot.telegram.chat_rights import may_change, sighting
from bot.telegram.keyboards import Row, button, keyboard
from bot.telegram.menus import menu
from bot.telegram.replies import replace, reply
from bot.texts import Html, Texts, available_languages, texts_for
from storage.chats import Preference

log = logging.getLogger(__name__)

# Each language by its own name, as a reader looks for it.
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "kk": "Қазақша"}
# The common zones, by button: all of Kazakhstan keeps Almaty's time since 1 March 2024, and
# Dubna keeps Moscow's.
ZONE_CHOICES = {"almaty": "Asia/Almaty", "moscow": "Europe/Moscow", "utc": "UTC"}
ZONE_BUTTONS: dict[str, Callable[[Texts], Html]] = {
    "almaty": lambda t: t("button.zone_almaty"),
    "moscow": lambda t: t("button.zone_moscow"),
    "utc": lambda t: t("button.zone_utc"),
}
# IANA names are short; anything longer is not one.
MAX_ZONE_NAME = 64


def languages() -> list[str]:
    return [language for language in LANGUAGE_NAMES if language in available_languages()]


def offset(zone: ZoneInfo, now: datetime) -> str:
    """The zone's offset from UTC now, "+05:00"; "" for UTC itself."""
    shift = now.astimezone(zone).strftime("%z")
    return "" if shift == "+0000" else f"{shift[:3]}:{shift[3:]}"


def zone_line(t: Texts, zone: ZoneInfo, now: datetime) -> Html:
    """What /settings says of the chat's zone."""
    label = zone_label(zone.key, language=t.language)
    return t("zone.line", zone=label, offset=offset(zone, now))


def zone_row(t: Texts, current: ZoneInfo, data: Callable[[str], CallbackData]) -> Row:
    """The common zones as buttons, the chat's own marked; ``data`` makes a button's data."""
    return [
        button(("✅ " if name == current.key else "") + ZONE_BUTTONS[choice](t), data(choice))
        for choice, name in ZONE_CHOICES.items()
    ]


def _language_view(t: Texts) -> tuple[Html, InlineKeyboardMarkup | None]:
    rows = [
        [
            button(
                ("✅ " if code == t.language else "") + LANGUAGE_NAMES[code], ChatLanguage(code)
            )
            for code in languages()
        ]
    ]
    return t("language.choose", language=LANGUAGE_NAMES.get(t.language, t.language)), keyboard(
        rows
    )


def _zone_view(
    t: Texts, zone: ZoneInfo, now: datetime
) -> tuple[Html, InlineKeyboardMarkup | None]:
    label = zone_label(zone.key, language=t.language)
    text = t("zone.choose", zone=label, offset=offset(zone, now))
    return text, keyboard([zone_row(t, zone, ChatZone)])


async def show_languages(update: Update, context: Context) -> None:
    await reply(update, *_language_view(context.texts))


async def choose_language(update: Update, context: Context) -> None:
    query, data = pressed(update)
    wanted = ChatLanguage.parse(data).language
    if wanted not in languages():
        await query.answer(context.texts("language.unknown"), show_alert=True)
        return
    if not await may_change(update, context):
        await query.answer(context.texts("preferences.admins_only"), show_alert=True)
        return
    current = context.bot_data.preferences.of(context.chat_id)
    chosen = Preference(language=wanted, zone=current.zone)
    await context.bot_data.preferences.choose(
        context.bot_data.sessions, sighting(update, context), chosen
    )
    await query.answer()
    t = texts_for(wanted)
    await _publish_menu(update, context, t)
    await replace(query, t("language.chosen"))


async def _publish_menu(update: Update, context: Context, t: Texts) -> None:
    """The command menu of this chat in its new language; an admin's has the admin commands."""
    chat = update.effective_chat
    admin = (
        chat is not None
        and chat.type == ChatType.PRIVATE
        and context.chat_id in context.bot_data.settings.admin_ids
    )
    commands = [*menu(t), *admin_menu(t)] if admin else menu(t)
    try:
        await context.bot.set_my_commands(commands, scope=BotCommandScopeChat(context.chat_id))
    except TelegramError as error:
        # The answers are in the new language all the same; the menu follows at the next choice.
        log.warning("could not set the menu of chat %s: %s", context.chat_id, error)


async def set_zone(update: Update, context: Context) -> None:
    """/zone alone shows the common zones; /zone <IANA name> sets that one."""
    t, now = context.texts, context.now
    typed = context.command_text
    if not typed:
        await reply(update, *_zone_view(t, context.zone, now))
        return
    zone = _zone(typed)
    if zone is None:
        shown = typed if len(typed) <= MAX_ZONE_NAME else typed[:MAX_ZONE_NAME] + "…"
        text = t("zone.unknown", name=shown)
        await reply(update, text, keyboard([zone_row(t, context.zone, ChatZone)]))
        return
    if not await may_change(update, context):
        await reply(update, t("preferences.admins_only"))
        return
    await remember_zone(update, context, zone)
    label = zone_label(zone.key, language=t.language)
    await reply(update, t("zone.chosen", zone=label, offset=offset(zone, now)))


async def choose_zone(update: Update, context: Context) -> None:
    query, data = pressed(update)
    t = context.texts
    zone = zone_chosen(ChatZone.parse(data).choice)
    if zone is None:
        await query.answer(t("zone.unknown", name=""), show_alert=True)
        return
    if not await may_change(update, context):
        await query.answer(t("preferences.admins_only"), show_alert=True)
        return
    await remember_zone(update, context, zone)
    await query.answer()
    label = zone_label(zone.key, language=t.language)
    await replace(query, t("zone.chosen", zone=label, offset=offset(zone, context.now)))


def zone_chosen(choice: str) -> ZoneInfo | None:
    """The zone a button stands for; None for data no button of ours carries."""
    name = ZONE_CHOICES.get(choice)
    return ZoneInfo(name) if name else None


async def remember_zone(update: Update, context: Context, zone: ZoneInfo) -> None:
    current = context.bot_data.preferences.of(context.chat_id)
    # The bot's own zone is stored as such: a chat that chose it keeps it if [time] zone changes.
    chosen = Preference(language=current.language or context.language, zone=zone.key)
    await context.bot_data.preferences.choose(
        context.bot_data.sessions, sighting(update, context), chosen
    )


def _zone(typed: str) -> ZoneInfo | None:
    """The IANA zone the user typed, or None; case as typed, then as IANA writes it."""
    name = typed.strip()
    if not name or len(name) > MAX_ZONE_NAME or ".." in name or name.startswith("/"):
        return None
    for candidate in (name, "/".join(part.capitalize() for part in name.split("/"))):
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return None


def register(app: App) -> None:
    app.add_handlers(
        [
            CommandHandler("language", show_languages),
            CommandHandler("zone", set_zone),
            CallbackQueryHandler(choose_language, pattern=ChatLanguage.pattern()),
            CallbackQueryHandler(choose_zone, pattern=ChatZone.pattern()),
        ]
    )
