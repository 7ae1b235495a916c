"""The sandbox's files on this machine: its database, deleted on --reset, and the folder where
the files the bot sends are saved.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

# SQLite's own files beside a database: its write-ahead log, shared memory and rollback journal.
_COMPANIONS = ("-wal", "-shm", "-journal")


def database_path(storage_url: str) -> Path:
    """The SQLite file of a sandbox database URL (see ``sandbox_storage_url``)."""
    database = make_url(storage_url).database
    if not database:
        raise ValueError(f"the sandbox needs an SQLite file, not {storage_url!r}")
    return Path(database)


def remove_database(path: Path) -> None:
    """Delete the database and SQLite's files beside it, so that the next open starts afresh."""
    for name in (path.name, *(path.name + suffix for suffix in _COMPANIONS)):
        path.with_name(name).unlink(missing_ok=True)
