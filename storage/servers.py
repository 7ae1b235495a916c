"""A PostgreSQL server's databases made, copied and dropped by name, through its admin URL.

The test suite and the benchmarks each run on databases of their own that they create and drop
on a server they are given; neither is the bot's business, which opens the one database it is
configured with. This is where both find that logic, so bench/ does not import tests/.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.engine import make_url

T = TypeVar("T")


def run_apart(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to its end on a loop of its own, whether or not one runs here already:
    fixtures set up and clear databases both inside and outside the tests' loops."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, work()).result()


class PostgresServer:
    """A server to make databases on: made, copied and dropped by name."""

    def __init__(self, url: str, *, prefix: str = "coopbot_test") -> None:
        parsed = make_url(url)
        self._url = parsed.set(drivername="postgresql+asyncpg")
        self._admin = parsed.set(drivername="postgresql", database="postgres")
        self._names = (f"{prefix}_{os.getpid()}_{n}" for n in itertools.count())

    def url_of(self, name: str) -> str:
        return self._url.set(database=name).render_as_string(hide_password=False)

    def new_name(self) -> str:
        return next(self._names)

    def create(self, name: str, *, template: str | None = None) -> str:
        """A new database, empty or a copy of `template`; its SQLAlchemy URL."""
        copy = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        run_apart(lambda: self._admin_execute(f'CREATE DATABASE "{name}"{copy}'))
        return self.url_of(name)

    def drop(self, name: str) -> None:
        run_apart(lambda: self._admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    async def _admin_execute(self, statement: str) -> None:
        connection = await asyncpg.connect(self._admin.render_as_string(hide_password=False))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()
