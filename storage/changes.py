"""Noticing, for a few microseconds a look, that someone else wrote to the database."""

from __future__ import annotations

import sqlite3

from sqlalchemy.engine import make_url


class ChangeWatch:
    """Whether another connection has committed since the last look.

    For SQLite this is ``PRAGMA data_version`` on a private read-only connection: it reads the
    shared WAL index, takes no lock and needs no thread, so it can run before every update.
    Other databases have no such probe, and every look answers "maybe changed".
    """

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self._connection: sqlite3.Connection | None = None
        self._seen: int | None = None
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            self._connection = sqlite3.connect(f"file:{parsed.database}?mode=ro", uri=True)

    def changed(self) -> bool:
        if self._connection is None:
            return True
        (version,) = self._connection.execute("PRAGMA data_version").fetchone()
        changed = version != self._seen
        self._seen = version
        return bool(changed)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
