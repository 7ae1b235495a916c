"""What a migration needs to know of the database it runs on."""

from __future__ import annotations

from alembic import op

from storage.urls import SQLITE


def on_sqlite() -> bool:
    """Whether this migration runs on SQLite.

    Revisions 0001 to 0017 were written for SQLite alone: their search index (FTS5) and the
    triggers that keep it and the knowledge revision are SQLite's own, and on PostgreSQL they
    are skipped. 0018 gives PostgreSQL its own, built from whatever rows are there by then.
    """
    return bool(op.get_bind().dialect.name == SQLITE)
