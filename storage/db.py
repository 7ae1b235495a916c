"""Engine, sessions and schema migrations for the embedded SQLite database."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

MIGRATIONS = Path(__file__).with_name("migrations")
BUSY_TIMEOUT_MS = 5000


def create_engine(url: str) -> AsyncEngine:
    """An engine; for SQLite the data folder is created and the connection tuned for a bot."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _tune_sqlite)
    return engine


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers go on while a digest writes; the busy timeout makes a second writer wait
    # instead of failing; SQLite leaves foreign keys off unless asked on every connection.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest Alembic revision; run on every start."""
    async with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration rebuilds an SQLite table, and the DROP of the old one fails on
            # the rows that refer to it (a source's facts) though the new one gets the same
            # rows. SQLite's own recipe: foreign keys off (outside the transaction), checked
            # before the commit, on again after it.
            await connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
            await connection.commit()
        try:
            async with connection.begin():
                await connection.run_sync(_upgrade)
                if sqlite:
                    broken = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise RuntimeError(f"the migrations broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                await connection.rollback()  # nothing to undo: out of the failed transaction
                await connection.exec_driver_sql("PRAGMA foreign_keys = ON")
                await connection.commit()


def _upgrade(connection: Connection) -> None:
    config = _config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def revisions() -> list[str]:
    """Every schema revision this release knows, oldest first; the last is the head."""
    script = ScriptDirectory.from_config(_config())
    return [revision.revision for revision in reversed(list(script.walk_revisions()))]


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache
def head_revision() -> str | None:
    """The newest migration's revision: what a migrated database says it is at."""
    head: str | None = ScriptDirectory.from_config(_config()).get_current_head()
    return head


async def schema_revision(session: AsyncSession) -> str | None:
    """The revision the database says it is at, after a ``SELECT 1`` that shows it answers."""
    await session.execute(text("SELECT 1"))
    revision: str | None = await session.run_sync(
        lambda sync: MigrationContext.configure(sync.connection()).get_current_revision()
    )
    return revision
