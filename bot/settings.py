"""Settings from a TOML file and the environment, checked once at start-up."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from bot.durations import parse_duration
from bot.logs import LEVELS, LOG_FORMATS, Secret
from bot.ops.listen import Listen, parse_listen
from bot.texts import available_languages
from bot.webhook import settings as webhook
from storage.urls import checked_url, sqlite_url

PUBLIC_API = "https://api.telegram.org/bot"
# The database's name in the data folder (default_data_dir) when [storage] url is unset.
DATABASE_FILE = "coopbot.db"
TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]{10,}")
# Telegram's ids have at most 52 significant bits; anything larger is a typo (and would not fit
# the database's 64-bit integers either).
LARGEST_ID = 2**52
# How far ahead a reminder may go out, and how seldom the scheduler may look: past these a
# value is a typo, and timedelta itself overflows not far beyond.
LONGEST_LEAD_TIME = timedelta(days=366)
LONGEST_TICK = timedelta(days=1)
# The most each limit may be: Telegram's ceiling for paid broadcasts (1,000 a second), and
# well above its per-chat and per-group limits; more would only be a typo that gets the bot
# rate-limited.
MOST: dict[str, int] = {
    "per_second": 1000,
    "per_chat_per_second": 30,
    "per_group_per_minute": 1200,
}


def _shipped_content() -> Path:
    """The curated content the bot ships with, found whatever the working directory.

    Installed (editable or from a wheel), content/ is the package bot.curated (pyproject.toml
    maps one to the other), and an installed package is plain files on disk. A checkout run
    without installing it (``PYTHONPATH=.``) has no such package, only content/ beside bot/.
    """
    try:
        return Path(str(resources.files("bot.curated")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "content"


DEFAULT_CONTENT = _shipped_content()

_DIGEST_KEYS: dict[str, type | tuple[type, ...]] = {"lead_times": list, "channel_id": int}
_DIGEST_KEYS |= dict.fromkeys(("summary", "tick", "channel_language", "channel_zone"), str)
# Every key the config file may hold, with its type; anything else is a typo to report.
KNOWN_KEYS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "telegram": {"token": str, "base_url": str, "base_file_url": str, **webhook.KEYS},
    "storage": {"url": str},
    "admins": {"user_ids": list},
    "time": {"zone": str},
    "content": {"folder": str},
    "logging": {"level": str, "format": str},
    "digest": _DIGEST_KEYS,
    "limits": {"per_second": int, "per_chat_per_second": int, "per_group_per_minute": int},
    "sources": {"allow_loopback": bool},
    "ops": {"listen": str},
}


class SettingsError(Exception):
    """A setting is missing or wrong; the message names the key and how to fix it."""


@dataclass(frozen=True)
class DigestSettings:
    """When digests go out and to where."""

    # Reminders go out this long before an event, longest first.
    lead_times: tuple[timedelta, ...] = (timedelta(days=7), timedelta(days=1), timedelta(hours=1))
    # The periodic summary, as a crontab line in [time] zone.
    summary: str = "0 9 * * mon"
    # A channel that receives every digest too, and the language and zone it reads them in
    # (None: as its chat row says, else English and [time] zone). A channel sends the bot no
    # commands, so its admin, the operator, sets them here.
    channel_id: int | None = None
    channel_language: str | None = None
    channel_zone: ZoneInfo | None = None
    # How often the scheduler looks for what is due.
    tick: timedelta = timedelta(seconds=30)


@dataclass(frozen=True)
class Limits:
    """Telegram's sending limits, which the bot keeps to on its own."""

    per_second: int = 30
    per_chat_per_second: int = 1
    per_group_per_minute: int = 20


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the bot is told; paths in it are absolute.

    ``storage_url`` has no default: where the database lives by default depends on the
    environment, which only ``load_settings`` reads.
    """

    storage_url: str
    token: Secret | None = None
    base_url: str = PUBLIC_API
    base_file_url: str = PUBLIC_API.replace("/bot", "/file/bot")
    admin_ids: frozenset[int] = frozenset()
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Almaty"))
    content_dir: Path = DEFAULT_CONTENT
    log_level: str = "INFO"
    # "text", one line a record, or "json", one object a line (bot/logs.py).
    log_format: str = "text"
    digest: DigestSettings = DigestSettings()
    limits: Limits = Limits()
    # /addsource may fetch pages on this machine's loopback: for the sandbox and tests only.
    fetch_loopback: bool = False
    # Where /healthz, /readyz and /metrics are served (bot/ops/); None: not at all.
    ops_listen: Listen | None = None
    # Webhook mode's settings (bot/webhook/); None: polling mode.
    webhook: webhook.WebhookSettings | None = None

    def require_token(self) -> str:
        """The token, for the one place that talks to Telegram."""
        if self.token is None:
            raise SettingsError(
                "telegram.token: no bot token; set COOPBOT_TOKEN or [telegram] token "
                "in the config file (get one from @BotFather)"
            )
        return self.token.reveal()


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the config file (``path`` or ``$COOPBOT_CONFIG``, optional) and ``$COOPBOT_TOKEN``.

    Relative paths in the file are taken from the file's own folder, not the working directory,
    so the bot finds the same database and content wherever it is started from.
    """
    env = env if env is not None else {}
    if path is None and env.get("COOPBOT_CONFIG"):
        path = Path(env["COOPBOT_CONFIG"])
    raw = _read_toml(path) if path is not None else {}
    _reject_unknown_keys(raw)
    # Without a file nothing is relative: every default below is absolute.
    here = path.expanduser().resolve().parent if path is not None else Path.cwd()

    def get(section: str, key: str, default: Any) -> Any:
        value = raw.get(section, {}).get(key, default)
        expected = KNOWN_KEYS[section][key]
        # TOML's true is a Python bool, and bool is an int: `per_second = true` is no number.
        if value is not default and (
            not isinstance(value, expected) or (isinstance(value, bool) and expected is int)
        ):
            kind = expected.__name__ if isinstance(expected, type) else "value"
            raise SettingsError(f"{section}.{key}: expected a {kind}, got {value!r}")
        return value

    token = env.get("COOPBOT_TOKEN") or get("telegram", "token", None)
    if token is not None and not TOKEN_SHAPE.fullmatch(token):
        source = "COOPBOT_TOKEN" if env.get("COOPBOT_TOKEN") else "telegram.token"
        raise SettingsError(
            f"{source}: this is not a bot token (it looks like 123456789:AA...; "
            "copy it from @BotFather)"
        )
    base_url = _url(get("telegram", "base_url", PUBLIC_API), "telegram.base_url")
    return Settings(
        token=Secret(token) if token else None,
        base_url=base_url,
        base_file_url=get("telegram", "base_file_url", None) or _file_url(base_url),
        storage_url=_storage_url(get("storage", "url", None), here, env),
        admin_ids=_admin_ids(get("admins", "user_ids", [])),
        zone=_zone(get("time", "zone", "Asia/Almaty")),
        content_dir=_content_dir(get("content", "folder", None), here),
        log_level=_choice("logging.level", str(get("logging", "level", "INFO")).upper(), LEVELS),
        log_format=_choice("logging.format", get("logging", "format", "text"), LOG_FORMATS),
        digest=_digest(get),
        limits=_limits(get),
        fetch_loopback=get("sources", "allow_loopback", False),
        ops_listen=_listen(get("ops", "listen", None)),
        webhook=_webhook(get, env),
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise SettingsError(
            f"config file {path} does not exist (copy config.example.toml and edit it)"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"config file {path} is not valid TOML: {error}") from None


def _reject_unknown_keys(raw: dict[str, Any]) -> None:
    for section, values in raw.items():
        if section not in KNOWN_KEYS:
            known = ", ".join(f"[{name}]" for name in KNOWN_KEYS)
            raise SettingsError(f"[{section}]: unknown section (known: {known})")
        if not isinstance(values, dict):
            raise SettingsError(f"{section}: expected a [{section}] table")
        for key in values:
            if key not in KNOWN_KEYS[section]:
                known = ", ".join(KNOWN_KEYS[section])
                raise SettingsError(
                    f"{section}.{key}: unknown key (known in [{section}]: {known})"
                )


def _digest(get: Callable[[str, str, Any], Any]) -> DigestSettings:
    default = DigestSettings()
    leads = get("digest", "lead_times", None)
    lead_times = default.lead_times
    if leads is not None:
        try:
            lead_times = tuple(
                sorted(
                    {parse_duration(str(v), longest=LONGEST_LEAD_TIME) for v in leads},
                    reverse=True,
                )
            )
        except ValueError as error:
            raise SettingsError(f"digest.lead_times: {error}") from None
    summary = get("digest", "summary", default.summary)
    try:
        CronTrigger.from_crontab(summary)
    except ValueError as error:
        raise SettingsError(
            f"digest.summary: {summary!r} is not a crontab line ({error}); "
            "e.g. '0 9 * * mon' for Mondays at 09:00"
        ) from None
    try:
        tick = parse_duration(get("digest", "tick", "30s"), longest=LONGEST_TICK)
    except ValueError as error:
        raise SettingsError(f"digest.tick: {error}") from None
    channel_id = get("digest", "channel_id", None)
    if channel_id is not None and not 0 < abs(channel_id) <= LARGEST_ID:
        raise SettingsError(
            f"digest.channel_id: {channel_id!r} is not a Telegram chat id "
            "(a channel's looks like -1001234567890)"
        )
    language = get("digest", "channel_language", None)
    if language is not None and language not in available_languages():
        raise SettingsError(
            f"digest.channel_language: {language!r} is not one of the bot's languages "
            f"({', '.join(available_languages())})"
        )
    zone = get("digest", "channel_zone", None)
    channel_zone = None if zone is None else _zone(zone, key="digest.channel_zone")
    return DigestSettings(lead_times, summary, channel_id, language, channel_zone, tick)


def _limits(get: Callable[[str, str, Any], Any]) -> Limits:
    values = {key: get("limits", key, getattr(Limits(), key)) for key in KNOWN_KEYS["limits"]}
    for key, value in values.items():
        if not 0 < value <= MOST[key]:
            raise SettingsError(
                f"limits.{key}: {value!r} must be a positive whole number up to {MOST[key]}"
            )
    return Limits(**values)


def default_data_dir(env: Mapping[str, str]) -> Path:
    """The folder of the database when the config names none: one place, wherever the bot starts.

    ``$COOPBOT_DATA``, else ``$XDG_DATA_HOME/coopbot``, else ``~/.local/share/coopbot`` (the XDG
    base directory rules, which also ignore a relative ``$XDG_DATA_HOME``).
    """
    if env.get("COOPBOT_DATA"):
        return Path(env["COOPBOT_DATA"]).expanduser().resolve()
    xdg = env.get("XDG_DATA_HOME", "")
    if Path(xdg).is_absolute():
        return Path(xdg) / "coopbot"
    home = Path(env["HOME"]) if env.get("HOME") else Path.home()
    return home / ".local" / "share" / "coopbot"


def _content_dir(value: str | None, here: Path) -> Path:
    if value is None:
        return DEFAULT_CONTENT
    return (here / Path(value).expanduser()).resolve()


def _storage_url(value: str | None, here: Path, env: Mapping[str, str]) -> str:
    if value is None:
        return sqlite_url(default_data_dir(env) / DATABASE_FILE)
    try:
        return checked_url(value, here)
    except ValueError as error:
        raise SettingsError(f"storage.url: {error}") from None


def _url(value: str, key: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise SettingsError(f"{key}: {value!r} is not an http(s) URL (e.g. {PUBLIC_API!r})")
    return value


def _file_url(base_url: str) -> str:
    """Files live beside the API: ``…/bot`` serves methods, ``…/file/bot`` serves downloads."""
    head, bot, tail = base_url.rpartition("/bot")
    return f"{head}/file/bot{tail}" if bot else base_url


def _admin_ids(values: list[Any]) -> frozenset[int]:
    for value in values:
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= LARGEST_ID:
            raise SettingsError(
                f"admins.user_ids: {value!r} is not a numeric Telegram user id "
                "(usernames change; use the number, e.g. user_ids = [123456789])"
            )
    return frozenset(values)


def _zone(name: str, *, key: str = "time.zone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"{key}: unknown time zone {name!r} (use an IANA name such as 'Asia/Almaty')"
        ) from None


def _choice(key: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise SettingsError(f"{key}: {value!r} is not one of {', '.join(choices)}")
    return value


def _webhook(
    get: Callable[[str, str, Any], Any], env: Mapping[str, str]
) -> webhook.WebhookSettings | None:
    try:
        return webhook.webhook_settings(get, env)
    except webhook.WebhookSettingsError as error:
        raise SettingsError(str(error)) from None


def _listen(value: str | None) -> Listen | None:
    try:
        return None if value is None else parse_listen(value)
    except ValueError as error:
        raise SettingsError(f"ops.listen: {error}") from None
