"""Where each test's database lives: an SQLite file by default or, with COOPBOT_TEST_POSTGRESQL
set to a PostgreSQL server's URL (``.ci/with-postgresql`` sets it), a database of its own on
that server.

Either way the migrations run once a session, into templates (one empty, one with content/
loaded), and each test gets its own copy: a file copy for SQLite, ``CREATE DATABASE …
TEMPLATE`` for PostgreSQL (a few tens of milliseconds).
"""

from __future__ import annotations

import os

from storage.servers import PostgresServer, run_apart

__all__ = ["ENVIRONMENT", "PostgresServer", "run_apart", "server"]

ENVIRONMENT = "COOPBOT_TEST_POSTGRESQL"


def server() -> PostgresServer | None:
    """The PostgreSQL server of this run, or None for SQLite."""
    url = os.environ.get(ENVIRONMENT)
    return PostgresServer(url) if url else None
