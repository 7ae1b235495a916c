"""What several test files do the same way: subscribe chats, read what a chat received, run a
digest tick, count rows, add an event; and, for the tests of a real ``coopbot run``, write its
config, start it, find a port nobody listens on."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import sys
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.app import digest_engine
from bot.curation.loading import load_content
from bot.digest.sending import Tally
from bot.digest.ticker import digest_tick
from bot.settings import DEFAULT_CONTENT
from storage.bot_models import Chat, Subscription
from storage.models import Base, Change, Event
from tests.conftest import DEFAULT_NOW, TEST_TOKEN, Running

ROOT = Path(__file__).resolve().parent.parent
SOURCE_ID = "jinr-2023-10-04-agreement-of-intent"
# Ten days after the test clock starts: every lead time is still ahead.
START = DEFAULT_NOW + timedelta(days=10)
# The curated content as `coopbot content check` reads it: counts and items a test expects.
RECORD = load_content(DEFAULT_CONTENT)
FACTS = len(RECORD.facts)
# The latest event on record (all of them are over): what /next shows when nothing is ahead.
LATEST_EVENT = max(
    (event for event in RECORD.events if event["status"] == "scheduled"),
    key=lambda event: event["starts_at"],
)["title"]
# /facilities shows five to a page.
FACILITY_PAGES = -(-len(RECORD.facilities) // 5)

# A fact in content's own form, as an admin's /import file adds it.
IMPORTED_FACT = f"""
[[facts]]
id = "imported-fact"
topic = "agreement"
title = "An imported fact"
text = "Imported and checked."
source = "{SOURCE_ID}"
"""


async def subscribe(
    running: Running,
    *chat_ids: int,
    events: bool = True,
    news: bool = False,
    lead_times: str | None = None,
    active: bool = True,
    in_emulator: bool = True,
) -> None:
    """Subscribed chats as /subscribe writes them, event reminders only unless `news`; private
    chats (positive ids) become emulator users unless not `in_emulator`."""
    async with running.sessions.begin() as session:
        for chat_id in chat_ids:
            if in_emulator and chat_id > 0:
                running.user(chat_id, f"User {chat_id}")
            kind = "private" if chat_id > 0 else "group"
            session.add(Chat(id=chat_id, type=kind, title=None, language="en", active=active))
        await session.flush()
        for chat_id in chat_ids:
            session.add(
                Subscription(chat_id=chat_id, events=events, news=news, lead_times=lead_times)
            )


def received(running: Running, chat_id: int) -> list[str]:
    """The text of each message a chat holds, oldest first (edits show their latest text)."""
    return [message.text for message in running.emulator.history(chat_id)]


def first_lines(running: Running, chat_id: int) -> list[str]:
    """The first line of each message a chat holds, oldest first."""
    return [text.split("\n")[0] for text in received(running, chat_id)]


def sends_to(running: Running, chat_id: int) -> int:
    """How many sendMessage requests reached the emulator for this chat, failed ones too."""
    calls = running.emulator.calls_to("sendMessage")
    return sum(call.params.get("chat_id") == chat_id for call in calls)


async def tick(running: Running) -> Tally:
    """One digest tick, as the JobQueue runs it; every send is answered when it returns."""
    return await digest_tick(digest_engine(running.app.bot_data), running.app.bot)


async def tick_at(running: Running, moment: datetime) -> Tally:
    """Set the clock to `moment`, then tick."""
    running.clock.set(moment)
    return await tick(running)


async def add_event(
    running: Running,
    *,
    starts_at: datetime = START,
    event_id: str = "school",
    zone: str = "Asia/Almaty",
    title: str = "Summer school on nuclear physics",
    created_at: datetime | None = None,
    precision: str = "minute",
    ends_at: datetime | None = None,
    place: str = "Almaty",
) -> None:
    """An event added by an admin, new as of the clock unless `created_at` says otherwise."""
    async with running.sessions.begin() as session:
        session.add(
            Event(
                id=event_id,
                title=title,
                description="Lectures and practice at the INP.",
                place=place,
                zone=zone,
                precision=precision,
                starts_at=starts_at,
                ends_at=ends_at,
                source_id=SOURCE_ID,
                origin="admin",
                created_at=created_at or running.clock.now(),
                updated_at=created_at or running.clock.now(),
            )
        )


async def chat_row(running: Running, chat_id: int) -> Chat | None:
    """What the database knows of a chat."""
    async with running.sessions() as session:
        return await session.get(Chat, chat_id)


async def count_of(running: Running, model: type[Base]) -> int:
    """How many rows a model's table holds."""
    async with running.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def changes(running: Running) -> int:
    """How many admin changes are recorded."""
    return await count_of(running, Change)


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The messages of the records logged at ERROR or above."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def table_count(database: Path, table: str) -> int:
    """How many rows a table of an SQLite file holds, read beside whoever else has it open."""
    with sqlite3.connect(database) as connection:
        (number,) = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(number)


def config_file(tmp_path: Path, **sections: str) -> Path:
    """A coopbot.toml under tmp_path with the database in tmp_path/data and these sections
    (name: body)."""
    path = tmp_path / "coopbot.toml"
    body = {"storage": f'url = "sqlite+aiosqlite:///{tmp_path}/data/coopbot.db"', **sections}
    path.write_text("".join(f"[{name}]\n{text}\n" for name, text in body.items()), "utf-8")
    return path


async def start_bot(settings_path: Path, log: Path | None = None) -> asyncio.subprocess.Process:
    """`coopbot run` on this checkout's code, whichever copy the interpreter has installed; its
    stderr appended to `log`, or with no log both outputs piped, to be read as they come."""
    command = (sys.executable, "-m", "bot.cli", "run", "--config", str(settings_path))
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "COOPBOT_TOKEN": TEST_TOKEN,
    }
    if log is None:
        pipe = asyncio.subprocess.PIPE
        return await asyncio.create_subprocess_exec(
            *command, cwd=ROOT, env=env, stdout=pipe, stderr=pipe
        )
    with log.open("ab") as stderr:
        return await asyncio.create_subprocess_exec(*command, cwd=ROOT, env=env, stderr=stderr)


async def end_the_listening_connection(url: str) -> None:
    """End the PostgreSQL connection the change watch listens on (storage/changes.py), as a
    server restart or an operator's pg_terminate_backend would."""
    admin = await asyncpg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        # Every backend listening on the channel: the watch's, since nobody else listens here.
        terminated = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND query ILIKE 'LISTEN%'"
        )
    finally:
        await admin.close()
    assert terminated == 1
