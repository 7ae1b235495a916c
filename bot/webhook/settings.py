"""The ``[telegram] mode = "webhook"`` settings, checked once at start-up like the rest.

Kept apart from bot/settings.py, which only hooks them in: the webhook's keys, their checks and
the secret's generation are one idea.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.logs import Secret
from bot.ops.listen import Listen, parse_listen

MODES = ("polling", "webhook")
# What Telegram accepts as setWebhook's secret_token, and so as the header it sends back.
SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")
SECRET_ENV = "COOPBOT_WEBHOOK_SECRET"
# The only ports Telegram sends webhooks to.
TELEGRAM_PORTS = (443, 80, 88, 8443)
# Telegram's own bounds and default for max_connections.
MOST_CONNECTIONS = 100
DEFAULT_CONNECTIONS = 40
# Behind a reverse proxy on the same machine, which holds the TLS certificate.
DEFAULT_LISTEN = "127.0.0.1:8080"
# The ops server's paths, which the webhook's path must leave alone.
OPS_PATHS = ("/healthz", "/readyz", "/metrics")
# Every key of [telegram] that is the webhook's, with its type (bot/settings.py's KNOWN_KEYS).
KEYS: dict[str, type] = {
    "mode": str,
    "webhook_url": str,
    "webhook_listen": str,
    "webhook_secret": str,
    "max_connections": int,
}


class WebhookSettingsError(ValueError):
    """A webhook setting is wrong; the message names the key (bot/settings.py re-raises it)."""


@dataclass(frozen=True)
class WebhookSettings:
    """Where Telegram pushes updates (``url``), where the bot listens for them, and the secret
    each push carries."""

    url: str
    listen: Listen
    secret: Secret
    max_connections: int = DEFAULT_CONNECTIONS

    @property
    def path(self) -> str:
        """The path the webhook is served on: the URL's, as a reverse proxy passes it on."""
        return urlsplit(self.url).path or "/"


def new_secret() -> str:
    """A fresh secret token: 32 random bytes, URL-safe base64 (43 characters of SECRET_SHAPE)."""
    return secrets.token_urlsafe(32)


def webhook_settings(
    get: Callable[[str, str, Any], Any], env: Mapping[str, str]
) -> WebhookSettings | None:
    """The webhook's settings in webhook mode, None in polling mode (its keys then unused)."""
    mode = get("telegram", "mode", "polling")
    if mode not in MODES:
        raise WebhookSettingsError(f"telegram.mode: {mode!r} is not one of {', '.join(MODES)}")
    if mode == "polling":
        return None
    if get("ops", "listen", None) is not None:
        raise WebhookSettingsError(
            "ops.listen: in webhook mode /healthz, /readyz and /metrics are served on "
            "telegram.webhook_listen; remove [ops] listen"
        )
    try:
        listen = parse_listen(get("telegram", "webhook_listen", DEFAULT_LISTEN))
    except ValueError as error:
        raise WebhookSettingsError(f"telegram.webhook_listen: {error}") from None
    connections = get("telegram", "max_connections", DEFAULT_CONNECTIONS)
    if not 0 < connections <= MOST_CONNECTIONS:
        raise WebhookSettingsError(
            f"telegram.max_connections: {connections!r} must be from 1 to {MOST_CONNECTIONS}"
        )
    return WebhookSettings(
        url=_url(get("telegram", "webhook_url", None)),
        listen=listen,
        secret=_secret(env.get(SECRET_ENV) or get("telegram", "webhook_secret", None), env),
        max_connections=connections,
    )


def _url(value: str | None) -> str:
    example = "e.g. 'https://bot.example.org/telegram'"
    if value is None:
        raise WebhookSettingsError(
            "telegram.webhook_url: webhook mode needs the public URL Telegram posts to "
            f"({example})"
        )
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in ("http", "https") or not parts.hostname or port == -1:
        raise WebhookSettingsError(f"telegram.webhook_url: {value!r} is not a URL ({example})")
    if parts.query or parts.fragment:
        raise WebhookSettingsError(
            f"telegram.webhook_url: {value!r} has a query or fragment; give a plain path"
        )
    if (parts.path or "/") in OPS_PATHS:
        raise WebhookSettingsError(
            f"telegram.webhook_url: its path {parts.path} is one of the health and metrics "
            f"paths ({', '.join(OPS_PATHS)}); choose another ({example})"
        )
    if is_loopback(parts.hostname):
        # The emulator and tests: no Telegram, no TLS.
        return value
    if parts.scheme != "https":
        raise WebhookSettingsError(
            f"telegram.webhook_url: {value!r} must be https: Telegram posts to HTTPS only "
            "(put a reverse proxy with a certificate in front of webhook_listen)"
        )
    if (port or 443) not in TELEGRAM_PORTS:
        raise WebhookSettingsError(
            f"telegram.webhook_url: Telegram posts only to ports "
            f"{', '.join(map(str, TELEGRAM_PORTS))}, not {port}"
        )
    return value


def _secret(value: str | None, env: Mapping[str, str]) -> Secret:
    source = SECRET_ENV if env.get(SECRET_ENV) else "telegram.webhook_secret"
    if value is None:
        raise WebhookSettingsError(
            f"telegram.webhook_secret: webhook mode needs a secret token; set {SECRET_ENV} "
            "or [telegram] webhook_secret (`coopbot webhook-secret` prints a new one)"
        )
    if not SECRET_SHAPE.fullmatch(value):
        # The value itself is not shown: it is a secret, even when it is a wrong one.
        raise WebhookSettingsError(
            f"{source}: a secret token is 1 to 256 of A-Z, a-z, 0-9, _ and - "
            "(`coopbot webhook-secret` prints a new one)"
        )
    return Secret(value)


def is_loopback(host: str) -> bool:
    """localhost or a loopback address: where a webhook may be plain HTTP (tests, a proxy)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
