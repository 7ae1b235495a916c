"""Shared fixtures: a fresh migrated database per test, a settable clock, the curated content."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.runtime import open_database, sync
from bot.settings import DEFAULT_CONTENT, Secret, Settings

TEST_TOKEN = "123456789:test-token-never-real-0123456789"
# A moment after every event in content/ (all in 2023), as on the day this was written.
DEFAULT_NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(DEFAULT_NOW)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "coopbot.db"


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return Settings(
        token=Secret(TEST_TOKEN),
        storage_url=f"sqlite+aiosqlite:///{db_path}",
        content_dir=DEFAULT_CONTENT,
    )


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A migrated database under tmp_path with content/ loaded."""
    async with open_database(settings) as database:
        await sync(settings, database.sessions)
        yield database.sessions
