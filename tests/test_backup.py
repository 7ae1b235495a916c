"""`coopbot backup` and `coopbot restore`: a copy made during a fan-out loses and doubles nothing
in the ledger once restored; the commands refuse what would lose data, in one line."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections import Counter
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.digest.sends import in_flight
from bot.emulator import BotApiEmulator
from bot.settings import Settings
from storage.backup import BackupError, backup, check_backup, restore
from storage.db import create_engine, revisions, session_factory
from tests.conftest import DEFAULT_NOW, TEST_TOKEN, Running, copied, started
from tests.helpers import START, add_event, config_file, received, start_bot, subscribe, tick
from tests.test_cli import TIMEOUT, coopbot
from tests.test_migrations import _to

HEAD = revisions()[-1]
FIRST, SECOND = "school", "colloquium"
# The colloquium's reminder is due a day before it, two hours after the school's.
COLLOQUIUM = START + timedelta(hours=2)


def ledger(database: Path) -> list[tuple[str, int, str]]:
    """Every delivery of a database file: digest, chat and status."""
    with closing(sqlite3.connect(database)) as connection:
        rows = connection.execute("SELECT digest_id, chat_id, status FROM deliveries")
        return [(str(digest), int(chat), str(status)) for digest, chat, status in rows]


def statuses(rows: list[tuple[str, int, str]], event_id: str) -> dict[int, str]:
    """Each chat's status for the reminder of one event."""
    return {chat: status for digest, chat, status in rows if f":{event_id}:" in digest}


def names(folder: Path) -> list[str]:
    """The files in a folder, by name."""
    return sorted(path.name for path in folder.iterdir())


def revision_of(database: Path) -> str:
    with closing(sqlite3.connect(database)) as connection:
        (revision,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return str(revision)


async def test_a_backup_during_a_fanout_restored_loses_and_doubles_no_delivery(
    running: Running, tmp_path: Path, settings: Settings, db_path: Path, synced_template: Path
) -> None:
    """One reminder sent to all, the next on its way (Telegram holds its sends) when the copy is
    made: restored into a stopped copy, the first is sent to all and the second pending for all,
    each chat once; the copy's next start sends the second to each chat once, the first to none."""
    chats = list(range(3000, 3000 + 3 * in_flight(running.app.bot_data.settings.limits)))
    await subscribe(running, *chats, lead_times="1d")
    await add_event(running, event_id=FIRST)
    running.clock.set(START - timedelta(days=1))
    await tick(running)
    await add_event(running, event_id=SECOND, starts_at=COLLOQUIUM, title="A colloquium")
    running.clock.set(COLLOQUIUM - timedelta(days=1))
    running.emulator.hold("sendMessage")
    ticking = asyncio.create_task(tick(running))
    # Its rows were all written before the first send; none is answered until released.
    await running.emulator.wait_for_call("sendMessage", after=len(running.emulator.calls))
    copy = await backup(db_path, tmp_path / "backup.db")
    running.emulator.release("sendMessage")
    await ticking
    assert set(statuses(ledger(db_path), SECOND).values()) == {"sent"}
    assert copy.revision == HEAD
    assert copy.size == (tmp_path / "backup.db").stat().st_size

    elsewhere = tmp_path / "elsewhere" / "coopbot.db"
    copied(synced_template, elsewhere)  # a stopped bot's database, to be replaced
    restored = await restore(copy.path, elsewhere, now=DEFAULT_NOW)
    assert restored.kept is not None
    assert restored.kept.name == "coopbot.db.before-restore-20261125T120000Z"
    rows = ledger(elsewhere)
    assert Counter((digest, chat) for digest, chat, _ in rows).most_common(1)[0][1] == 1
    assert statuses(rows, FIRST) == dict.fromkeys(chats, "sent")
    assert statuses(rows, SECOND) == dict.fromkeys(chats, "pending")

    url = f"sqlite+aiosqlite:///{elsewhere}"
    engine = create_engine(url)
    sessions: async_sessionmaker[AsyncSession] = session_factory(engine)
    clock = ManualClock(COLLOQUIUM - timedelta(days=1))
    try:
        async with BotApiEmulator(token=TEST_TOKEN) as emulator:
            for chat_id in chats:
                emulator.user(chat_id, f"User {chat_id}")
            copy_settings = Settings(
                token=settings.token, storage_url=url, content_dir=settings.content_dir
            )
            async with started(emulator, copy_settings, sessions, clock) as again:
                await tick(again)
                assert all(
                    [text.split("\n")[0] for text in received(again, chat_id)]
                    == ["⏰ Reminder: in 1 day"]
                    and "A colloquium" in received(again, chat_id)[0]
                    for chat_id in chats
                )
    finally:
        await engine.dispose()
    assert set(statuses(ledger(elsewhere), SECOND).values()) == {"sent"}


async def test_a_backup_at_an_older_revision_is_migrated_to_head_when_restored(
    tmp_path: Path,
) -> None:
    old = tmp_path / "old.db"
    engine = create_engine(f"sqlite+aiosqlite:///{old}")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_to("0010"))
    finally:
        await engine.dispose()
    database = tmp_path / "data" / "coopbot.db"
    restored = await restore(old, database, now=DEFAULT_NOW)
    assert (restored.revision, restored.head, restored.kept) == ("0010", HEAD, None)
    assert revision_of(database) == HEAD
    assert names(database.parent) == ["coopbot.db"]


async def test_restore_refuses_what_is_not_a_database_of_ours(
    tmp_path: Path, db_path: Path, synced_template: Path
) -> None:
    copied(synced_template, db_path)
    text = tmp_path / "notes.txt"
    text.write_text("not a database", "utf-8")
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as connection:
        connection.execute("CREATE TABLE t (x)")
    newer = copied(synced_template, tmp_path / "newer.db")
    with closing(sqlite3.connect(newer)) as connection, connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    for path, reason in (
        (text, "is not an SQLite database"),
        (other, "is not a coopbot database"),
        (newer, "at schema revision 9999, which this coopbot does not know"),
        (tmp_path / "missing.db", "no such file"),
    ):
        with pytest.raises(BackupError, match=reason):
            await restore(path, db_path, now=DEFAULT_NOW)
    assert not [name for name in names(db_path.parent) if "restor" in name]
    assert check_backup(db_path) == HEAD


async def test_backup_refuses_to_overwrite_without_force(
    db_path: Path, synced_template: Path, tmp_path: Path
) -> None:
    copied(synced_template, db_path)
    target = tmp_path / "backup.db"
    target.write_text("an older backup", "utf-8")
    with pytest.raises(BackupError, match="exists; --force replaces it"):
        await backup(db_path, target)
    assert target.read_text("utf-8") == "an older backup"
    forced = await backup(db_path, target, force=True)
    assert check_backup(forced.path) == HEAD
    assert [name for name in names(tmp_path) if "backup" in name] == ["backup.db"]


async def test_the_commands_back_up_a_running_bot_and_restore_only_once_it_stopped(
    tmp_path: Path,
) -> None:
    """Real processes: the backup is made while `coopbot run` answers; the restore is refused
    until it has stopped; every refusal is one line, exit 2."""
    database = tmp_path / "data" / "coopbot.db"
    target = tmp_path / "backup.db"
    async with BotApiEmulator(token=TEST_TOKEN) as emulator:
        settings = config_file(tmp_path, telegram=f'base_url = "{emulator.base_url}"')
        config = ("--config", str(settings))
        bot = await start_bot(settings)
        try:
            chat = emulator.private_chat(emulator.user(7, "Dana"), timeout=TIMEOUT)
            assert "JINR and Kazakhstan" in (await chat.send("/about")).text
            made = await asyncio.to_thread(coopbot, "backup", str(target), *config, cwd=tmp_path)
            assert made.returncode == 0, made.stderr
            assert made.stdout.startswith(f"backed up to {target} (")
            assert made.stdout.endswith(f" KiB, schema revision {HEAD})\n")
            again = await asyncio.to_thread(coopbot, "backup", str(target), *config, cwd=tmp_path)
            assert (again.returncode, again.stderr) == (
                2,
                f"coopbot: {target} exists; --force replaces it\n",
            )
            refused = await asyncio.to_thread(
                coopbot, "restore", str(target), *config, cwd=tmp_path
            )
            assert (refused.returncode, refused.stderr) == (
                2,
                f"coopbot: {database} is in use: stop the bot, then restore\n",
            )
        finally:
            bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.communicate(), TIMEOUT)
    assert bot.returncode == 0
    done = coopbot("restore", str(target), *config, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    [kept] = database.parent.glob("coopbot.db.before-restore-*")
    assert done.stdout == (
        f"restored {target} into {database} (revision {HEAD}); "
        f"the database it replaced is kept as {kept}\n"
    )
    not_ours = coopbot("restore", str(settings), *config, cwd=tmp_path)
    assert (not_ours.returncode, not_ours.stderr) == (
        2,
        f"coopbot: {settings} is not an SQLite database\n",
    )


def test_backup_of_postgresql_points_to_pg_dump(tmp_path: Path) -> None:
    settings = config_file(tmp_path)
    settings.write_text('[storage]\nurl = "postgresql+asyncpg://bot:pw@db/coopbot"\n', "utf-8")
    for command in ("backup", "restore"):
        result = coopbot(command, "x.db", "--config", str(settings), cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1
        assert "pg_dump" in result.stderr
        assert "Traceback" not in result.stderr
