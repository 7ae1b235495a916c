"""The Alembic migrations build exactly the schema the models describe, and SQLite is tuned."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text

from storage.db import create_engine, migrate
from storage.models import Base


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection)
    ignored = {"search_index"}
    return [
        diff
        for diff in compare_metadata(context, Base.metadata)
        if not any(name in str(diff) for name in ignored)
    ]


async def test_migrations_match_the_models(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/data/coopbot.db")
    try:
        await migrate(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_first_start_creates_the_data_folder_and_tunes_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "data" / "coopbot.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await migrate(engine)
        await migrate(engine)  # a second start finds nothing to do
        async with engine.connect() as connection:
            assert (await connection.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await connection.execute(text("PRAGMA busy_timeout"))).scalar() == 5000
            version = await connection.execute(text("SELECT version_num FROM alembic_version"))
            assert version.scalar() == "0007"
    finally:
        await engine.dispose()
    assert path.is_file()
