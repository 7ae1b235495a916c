"""Which databases the bot runs on, read from a SQLAlchemy URL: an SQLite file or PostgreSQL.

The dialect-specific parts of storage (storage/dialect.py, the search backends, the change
watch) are chosen from the URL's backend name, so a URL is checked here once, at start-up,
against exactly the backends they know.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

SQLITE, POSTGRESQL = "sqlite", "postgresql"
# The asyncio driver each backend is used through.
DRIVERS = {SQLITE: "aiosqlite", POSTGRESQL: "asyncpg"}
EXAMPLES = (
    "e.g. 'sqlite+aiosqlite:///coopbot.db', a file beside the config file, or "
    "'postgresql+asyncpg://coopbot:password@localhost/coopbot'"
)


def sqlite_url(path: Path) -> str:
    return URL.create(f"{SQLITE}+{DRIVERS[SQLITE]}", database=str(path)).render_as_string()


def backend(url: str) -> str:
    """ "sqlite" or "postgresql": the storage code that applies to a checked URL."""
    return make_url(url).get_backend_name()


def checked_url(value: str, here: Path) -> str:
    """The URL, if the bot can run on it; ValueError saying what is wrong otherwise.

    A relative SQLite file is made absolute from ``here`` (the config file's folder): SQLite
    itself would open it from the working directory, and start an empty database there.
    """
    try:
        url: URL = make_url(value)
    except (ArgumentError, ValueError):
        raise ValueError(f"this is not a database URL ({EXAMPLES})") from None
    shown = repr(url.render_as_string(hide_password=True))
    name = url.get_backend_name()
    if name not in DRIVERS or url.get_driver_name() != DRIVERS[name]:
        raise ValueError(
            f"{shown} is neither SQLite through aiosqlite nor PostgreSQL through asyncpg, the "
            f"two the bot runs on ({EXAMPLES})"
        )
    try:
        url.get_dialect().import_dbapi()
    except (NoSuchModuleError, ImportError) as error:
        raise ValueError(f"no driver for {shown} is installed ({error}); {EXAMPLES}") from None
    if name == POSTGRESQL:
        if not url.database:
            raise ValueError(f"{shown} names no database; add it after the host: …/coopbot")
        return url.render_as_string(hide_password=False)
    database = url.database
    # The search index and the change watch open the file again on their own connections.
    if not database or database == ":memory:" or database.startswith("file:"):
        raise ValueError(
            f"{value!r} names no database file; the bot keeps its data in an SQLite file, by "
            f"its path ({EXAMPLES})"
        )
    absolute = (here / Path(database).expanduser()).resolve()
    # Rendered, not formatted: a path may hold characters that a URL escapes.
    return url.set(database=str(absolute)).render_as_string(hide_password=False)


def database_location(url: str) -> str:
    """Where the data is, for an operator: an SQLite file's absolute path, else the URL.

    A password in the URL is hidden: this goes to logs and terminals.
    """
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() == SQLITE and database and database != ":memory:":
        return str(Path(database).expanduser().resolve())
    return parsed.render_as_string(hide_password=True)
