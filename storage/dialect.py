"""The few statements that SQLite and PostgreSQL spell differently, chosen by the session's
database: everything else in storage is SQLAlchemy's portable Core and ORM."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.urls import POSTGRESQL

Upsert = sqlite.Insert | postgresql.Insert


def on_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == POSTGRESQL


def upsert(session: AsyncSession, table: Any) -> Upsert:
    """An INSERT that can say what to do with a row whose key is taken (``on_conflict_do_*``,
    which both databases spell alike once the statement is their own dialect's)."""
    return postgresql.insert(table) if on_postgresql(session) else sqlite.insert(table)


def insert_new(session: AsyncSession, table: Any) -> Insert:
    """An INSERT that skips the rows whose key is taken and adds the others.

    SQLite's ``OR IGNORE`` rather than its ``ON CONFLICT``: an ``INSERT … SELECT`` whose select
    ends in a join would need a dummy WHERE for SQLite to parse the upsert clause.
    """
    if on_postgresql(session):
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).prefix_with("OR IGNORE")
