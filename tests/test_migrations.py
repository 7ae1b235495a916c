"""The Alembic migrations build exactly the schema the models describe, and SQLite is tuned."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, Table, inspect, select, text

import storage.bot_models  # noqa: F401  # its tables join Base.metadata
from bot.settings import Settings
from storage.db import MIGRATIONS, create_engine, migrate, revisions
from storage.models import Base
from tests.conftest import copied
from tests.revision_rows import MOVED, ROWS


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection)
    # The full-text index, its list of terms, the text it indexes (kept by triggers from the
    # curated tables) and the items waiting for it at commit are the search's own, which the
    # models do not map.
    ignored = {"search_index", "search_terms", "search_text", "search_pending"}
    return [
        diff
        for diff in compare_metadata(context, Base.metadata)
        if not any(name in str(diff) for name in ignored)
    ]


async def test_migrations_match_the_models(settings: Settings) -> None:
    """On either database: an empty one, migrated as the bot's first start does."""
    engine = create_engine(settings.storage_url)
    try:
        await migrate(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


@pytest.mark.sqlite
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
            assert version.scalar() == revisions()[-1]
    finally:
        await engine.dispose()
    assert path.is_file()


def _to(revision: str, *, down: bool = False) -> Callable[[Connection], None]:
    """Alembic to `revision`, on the connection run_sync hands over."""

    def move(connection: Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    return move


async def test_refusals_recorded_one_per_attempt_are_merged_into_their_minute(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/coopbot.db")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_to("0007"))
            rows = [
                ("2026-11-25 12:00:05.000000", 7, 7, "/stats"),
                ("2026-11-25 12:00:59.999999", 7, 7, "/stats"),
                ("2026-11-25 12:00:30.000000", None, -5, "/stats"),
                ("2026-11-25 12:00:31.000000", None, -5, "/stats"),
                ("2026-11-25 12:01:00.000000", 7, 7, "/stats"),
                ("2026-11-25 12:00:10.000000", 7, 7, "/export"),
            ]
            for at, user_id, chat_id, attempt in rows:
                await connection.execute(
                    text(
                        "INSERT INTO refusals (at, user_id, chat_id, command) "
                        "VALUES (:at, :user_id, :chat_id, :command)"
                    ),
                    {"at": at, "user_id": user_id, "chat_id": chat_id, "command": attempt},
                )
            await connection.run_sync(_to("head"))
            merged = await connection.execute(
                text("SELECT at, user_id, command, count FROM refusals ORDER BY id")
            )
            assert [tuple(row) for row in merged] == [
                ("2026-11-25 12:00:00.000000", 7, "/stats", 2),
                ("2026-11-25 12:00:00.000000", None, "/stats", 2),
                ("2026-11-25 12:01:00.000000", 7, "/stats", 1),
                ("2026-11-25 12:00:00.000000", 7, "/export", 1),
            ]
            await connection.run_sync(_to("0007", down=True))
            count = await connection.execute(text("SELECT count(*) FROM refusals"))
            assert count.scalar() == 4
    finally:
        await engine.dispose()


async def test_every_curated_table_raises_the_revision_on_every_write(tmp_path: Path) -> None:
    """A migration that rebuilds a table drops its triggers: they must all be there at head."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/coopbot.db")
    try:
        await migrate(engine)
        async with engine.connect() as connection:
            found = await connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            )
            triggers = {row[0] for row in found}
    finally:
        await engine.dispose()
    curated = ("sources", "topics", "facts", "people", "roles", "facilities", "events")
    expected = {
        f"{table}_revision_{action}"
        for table in (*curated, "agreements", "translations")
        for action in ("insert", "update", "delete")
    }
    assert expected - triggers == set()
    # And every table whose rows search reads keeps its index current.
    searched = ("facts", "people", "roles", "facilities", "events", "agreements", "translations")
    kept = {
        f"{table}_search_{action}"
        for table in (*searched, "search_text")
        for action in ("insert", "update", "delete")
    }
    assert kept - triggers == set()


async def test_translations_stored_before_search_knew_them_are_searchable(
    synced_template: Path, tmp_path: Path
) -> None:
    """0017 indexes the translations already there; back at 0016, English search still works."""
    path = copied(synced_template, tmp_path / "coopbot.db")
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    match = "SELECT item_id FROM search_index WHERE search_index MATCH :match"
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_to("0016", down=True))
            english = set(await connection.scalars(text(match), {"match": "reactor"}))
            assert "ibr-2" in english
            # The only translation there, rather than content/'s.
            await connection.execute(text("DELETE FROM translations"))
            await connection.execute(
                text(
                    "INSERT INTO translations (kind, item_id, field, language, text, origin, "
                    "updated_at) VALUES ('facility', 'ibr-2', 'description', 'ru', "
                    "'Импульсный реактор в Дубне.', 'content', '2026-11-25 12:00:00')"
                )
            )
            await connection.run_sync(_to("head"))
            found = set(await connection.scalars(text(match), {"match": '"реактор"*'}))
            assert found == {"ibr-2"}
            assert set(await connection.scalars(text(match), {"match": "reactor"})) == english
    finally:
        await engine.dispose()


def _put_rows(connection: Connection) -> dict[str, dict[str, object]]:
    """Each table there is gets its row, in the columns it has; what was put, by table."""
    put = {}
    present = set(inspect(connection).get_table_names())
    for name, row in ROWS.items():
        if name not in present:
            continue
        table = Table(name, MetaData(), autoload_with=connection)
        values = {column: value for column, value in row.items() if column in table.c}
        connection.execute(table.insert().values({c: _naive(v) for c, v in values.items()}))
        put[name] = values
    return put


def _kept(
    connection: Connection, put: dict[str, dict[str, object]]
) -> tuple[dict[str, object], dict[str, object]]:
    """The rows at head, and the rows put as head would show them: in its columns."""
    found: dict[str, object] = {}
    expected: dict[str, object] = {}
    for name, values in put.items():
        table = Table(name, MetaData(), autoload_with=connection)
        kept = [c for c in values if c in table.c and (name, c) not in MOVED]
        rows = connection.execute(select(table)).mappings().all()
        found[name] = [{c: _utc(row[c]) for c in kept} for row in rows]
        expected[name] = [{c: values[c] for c in kept}]
    return found, expected


def _naive(value: object) -> object:
    # The models keep times as naive UTC in the database (storage/models.py); the reflected
    # tables here are plain, so they are given what the models would write.
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _utc(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@pytest.mark.parametrize("revision", revisions())
async def test_rows_at_every_revision_survive_the_upgrade_to_head(
    settings: Settings, revision: str
) -> None:
    """On either database (on PostgreSQL from 0001 too: the migrations run there from the
    first): a row in each table there is at `revision` is there at head, its values kept."""
    engine = create_engine(settings.storage_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_to(revision))
            put = await connection.run_sync(_put_rows)
        await migrate(engine)
        async with engine.connect() as connection:
            found, expected = await connection.run_sync(lambda sync: _kept(sync, put))
    finally:
        await engine.dispose()
    assert set(put) >= {"chats", "topics", "sources", "facts", "facilities"}
    assert found == expected
