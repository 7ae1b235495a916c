"""Admin commands: to be built (issue 4)."""

from __future__ import annotations

from bot.context import App


def register(app: App) -> None:
    """Nothing yet."""
