"""Backups of the SQLite database while the bot runs, and restores into a stopped bot.

A backup is SQLite's online backup (``sqlite3.Connection.backup``) in one step: one read
transaction, so with WAL on it is a snapshot of a single moment while the bot goes on writing.
Each file is made under a temporary name beside where it goes, then renamed: a half-written copy
never stands under the name an operator asked for, or under the bot's. The blocking work runs
in a thread, so a bot in the same loop (the tests') goes on meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import URL

from storage.db import create_engine, migrate, revisions

# How long the restore waits for the live database to be free: a bot that runs holds it open
# for good, so waiting longer would not help; only a passing lock (a reader) is waited out.
IN_USE_TIMEOUT = 0.5
_HEADER = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup or restore that could not be made, said in one line for an operator."""


@dataclass(frozen=True)
class Copy:
    """A database file written: where, how big, and at which schema revision."""

    path: Path
    size: int
    revision: str


@dataclass(frozen=True)
class Restored:
    """The database put in place, from which revision, and where the one it replaced is kept."""

    database: Path
    revision: str
    head: str
    kept: Path | None


async def backup(database: Path, target: Path, *, force: bool = False) -> Copy:
    """A consistent copy of ``database`` at ``target``; an existing target only with ``force``."""
    return await asyncio.to_thread(_backup, database, target, force)


async def restore(backup: Path, database: Path, *, now: datetime) -> Restored:
    """``backup`` in place of ``database``, migrated to the head revision, the replaced file kept
    as ``<database>.before-restore-<now>``. Refused while the bot runs (``in_use``)."""
    revision = await asyncio.to_thread(check_backup, backup)
    await asyncio.to_thread(_refuse_if_in_use, database)
    staged = await asyncio.to_thread(_stage, backup, database)
    try:
        await _migrate(staged)
        kept = await asyncio.to_thread(_swap, staged, database, now)
    finally:
        staged.unlink(missing_ok=True)
    return Restored(database, revision, revisions()[-1], kept)


def check_backup(path: Path) -> str:
    """The schema revision of a database of ours; BackupError if ``path`` is not one, or is of a
    revision this release does not know (a newer release's)."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    with path.open("rb") as file:
        if file.read(len(_HEADER)) != _HEADER:
            raise BackupError(f"{path} is not an SQLite database")
    try:
        with _connected(path, read_only=True) as connection:
            (check,) = connection.execute("PRAGMA quick_check").fetchone()
            if check != "ok":
                raise BackupError(f"{path} is damaged: {check}")
            revision = _revision(connection, path)
    except sqlite3.Error as error:
        raise BackupError(f"{path} cannot be read as an SQLite database: {error}") from None
    known = revisions()
    if revision not in known:
        raise BackupError(
            f"{path} is at schema revision {revision}, which this coopbot does not know (it "
            f"knows up to {known[-1]}): restore it with the release that made it"
        )
    return revision


def in_use(database: Path) -> bool:
    """Whether a process (the bot) has ``database`` open.

    Every connection to a WAL database keeps a shared lock while it is open, idle or not, and
    the bot's pool keeps its connections open. A connection in exclusive locking mode that
    begins an exclusive transaction and reads needs every other connection gone: it gets
    "database is locked" after the short busy timeout if one is there. (A plain ``BEGIN
    EXCLUSIVE`` would not do: with WAL, readers never block it.) Closing it, the last
    connection, folds the write-ahead log into the file, so the file stands alone after.
    """
    connection = sqlite3.connect(database, timeout=IN_USE_TIMEOUT, isolation_level=None)
    try:
        connection.execute("PRAGMA locking_mode=EXCLUSIVE")
        connection.execute("BEGIN EXCLUSIVE")
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        connection.execute("COMMIT")
    except sqlite3.OperationalError as error:
        if "locked" in str(error) or "busy" in str(error):
            return True
        raise
    finally:
        connection.close()
    return False


def _refuse_if_in_use(database: Path) -> None:
    if database.exists() and in_use(database):
        raise BackupError(f"{database} is in use: stop the bot, then restore")


def _backup(database: Path, target: Path, force: bool) -> Copy:
    if not database.is_file():
        raise BackupError(f"no database at {database}: nothing to back up")
    target = target.expanduser().resolve()
    if target.exists() and not force:
        raise BackupError(f"{target} exists; --force replaces it")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent}: no such folder")
    with _temporary_beside(target) as temporary:
        try:
            with _connected(database) as source, _connected(temporary) as copy:
                revision = _revision(source, database)
                source.backup(copy)
                # A file that stands alone, with no write-ahead log beside it to lose.
                copy.execute("PRAGMA journal_mode=DELETE")
        except sqlite3.Error as error:
            raise BackupError(f"the backup of {database} failed: {error}") from None
        _fsync(temporary)
        _put(temporary, target, replace=force)
    return Copy(target, target.stat().st_size, revision)


def _stage(backup: Path, database: Path) -> Path:
    """The backup copied beside the live database, under a temporary name: the rename into
    place is then atomic, on one file system."""
    database.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        prefix=f".{database.name}.", suffix=".restoring", dir=database.parent
    )
    os.close(handle)
    staged = Path(name)
    try:
        with _connected(backup, read_only=True) as source, _connected(staged) as copy:
            source.backup(copy)
    except sqlite3.Error as error:
        staged.unlink(missing_ok=True)
        raise BackupError(f"{backup} could not be copied: {error}") from None
    return staged


async def _migrate(staged: Path) -> None:
    """The staged copy brought to the head revision before it takes the live one's place, so a
    migration that fails leaves the bot's database as it was."""
    engine = create_engine(URL.create("sqlite+aiosqlite", database=str(staged)).render_as_string())
    try:
        await migrate(engine)
    except Exception as error:
        raise BackupError(f"the backup could not be migrated: {error}") from None
    finally:
        await engine.dispose()
    await asyncio.to_thread(_stand_alone, staged)


def _stand_alone(path: Path) -> None:
    with _connected(path) as connection:
        connection.execute("PRAGMA journal_mode=DELETE")
    _fsync(path)


def _swap(staged: Path, database: Path, now: datetime) -> Path | None:
    """The staged file under the live one's name; the live one kept by a second name first."""
    if not database.exists():
        _put(staged, database, replace=False)
        return None
    _refuse_if_in_use(database)
    for sidecar in ("-wal", "-journal"):
        if database.with_name(database.name + sidecar).exists():
            raise BackupError(f"{database} is in use (its {sidecar} file is there): stop the bot")
    kept = database.with_name(f"{database.name}.before-restore-{now:%Y%m%dT%H%M%SZ}")
    try:
        os.link(database, kept)
    except FileExistsError:
        raise BackupError(f"{kept} exists already") from None
    except OSError as error:
        raise BackupError(f"{database} could not be kept as {kept}: {error}") from None
    shutil.copymode(kept, staged)
    _put(staged, database, replace=True)
    return kept


def _put(temporary: Path, target: Path, *, replace: bool) -> None:
    """``temporary`` renamed to ``target``: without ``replace``, never over a file that appeared
    meanwhile (a hard link fails if the name is taken; then the temporary name goes)."""
    try:
        if replace:
            os.replace(temporary, target)
        else:
            os.link(temporary, target)
            temporary.unlink()
    except FileExistsError:
        raise BackupError(f"{target} exists; --force replaces it") from None
    except OSError as error:
        raise BackupError(f"{target} could not be written: {error}") from None
    _fsync(target.parent)


@contextlib.contextmanager
def _temporary_beside(target: Path) -> Iterator[Path]:
    handle, name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".partial", dir=target.parent
    )
    os.close(handle)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


@contextlib.contextmanager
def _connected(path: Path, *, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    """A plain connection; an existing file only (SQLite would make an empty one)."""
    mode = "ro" if read_only else "rw"
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode={mode}", uri=True, timeout=5)
    try:
        yield connection
    finally:
        connection.close()


def _revision(connection: sqlite3.Connection, path: Path) -> str:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        row = None
    if row is None:
        raise BackupError(f"{path} is not a coopbot database: it has no schema revision")
    return str(row[0])


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
