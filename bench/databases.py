"""Where a bench script's databases live: SQLite files in its temporary folder, or fresh
databases on a PostgreSQL server it was given (``--postgresql URL``), dropped afterwards.

A script measures on each in turn and prints its figures side by side (`side_by_side`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from storage.servers import PostgresServer
from storage.urls import sqlite_url

SQLITE, POSTGRESQL = "SQLite", "PostgreSQL"


def as_url(database: str | Path) -> str:
    """A database URL from what a bench option names: a URL as it is, a file path as SQLite."""
    text = str(database)
    return text if "://" in text else sqlite_url(Path(text))


class Databases:
    """Fresh databases of one kind, by name; those made on a server are dropped on `close`."""

    def __init__(self, folder: Path, server: PostgresServer | None = None) -> None:
        self.folder = folder
        self.server = server
        self._made: list[str] = []

    @property
    def kind(self) -> str:
        return SQLITE if self.server is None else POSTGRESQL

    @property
    def is_sqlite(self) -> bool:
        return self.server is None

    def new(self, stem: str) -> str:
        """The URL of a new, empty database (an SQLite file named after `stem`)."""
        if self.server is None:
            return sqlite_url(self.folder / f"{stem}.db")
        name = self.server.new_name()
        self._made.append(name)
        return self.server.create(name)

    def close(self) -> None:
        if self.server is not None:
            for name in self._made:
                self.server.drop(name)
        self._made.clear()


@contextmanager
def databases(folder: Path, server: PostgresServer | None = None) -> Iterator[Databases]:
    """Databases of one kind for a run, the server's dropped however the run ends."""
    made = Databases(folder, server)
    try:
        yield made
    finally:
        made.close()


def server_of(admin_url: str | None) -> PostgresServer | None:
    """The server named by ``--postgresql`` (its admin URL), or None for SQLite only."""
    return PostgresServer(admin_url, prefix="coopbot_bench") if admin_url else None


def kinds(admin_url: str | None) -> list[PostgresServer | None]:
    """What to run on, in order: SQLite, then PostgreSQL if a server was given."""
    server = server_of(admin_url)
    return [None] if server is None else [None, server]


Row = tuple[str, Sequence[str]]
"""A figure's label and its value on each database, in the order they ran."""


def side_by_side(title: str, rows: Sequence[Row], names: Sequence[str]) -> str:
    """One table: a row per figure, a column per database."""
    width = max(len(label) for label, _ in rows)
    columns = [
        max(len(name), *(len(values[n]) for _, values in rows)) for n, name in enumerate(names)
    ]
    head = "  ".join(f"{name:>{w}}" for name, w in zip(names, columns, strict=True))
    lines = [title, f"  {'':<{width}}  {head}"]
    for label, values in rows:
        cells = "  ".join(f"{value:>{w}}" for value, w in zip(values, columns, strict=True))
        lines.append(f"  {label:<{width}}  {cells}")
    return "\n".join(lines)


POSTGRESQL_OPTION = (
    "also run on PostgreSQL: a server's admin URL, e.g. postgresql://postgres@127.0.0.1:5432/"
    "postgres; a fresh database is made there and dropped afterwards"
)
