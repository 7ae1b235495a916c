"""/stats, /export and /import through the emulator, and the export's round trip through sync."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.curation.loading import load_content
from bot.emulator import SentMessage
from bot.settings import Settings
from bot.texts import texts_for
from storage import curation, exports
from storage.bot_models import Chat, Delivery, Digest, Refusal, Subscription
from storage.models import Action, Change, Event, Fact
from storage.sync import sync_content
from tests.conftest import ADMIN, Running, curator
from tests.helpers import FACTS, RECORD, count_of

SOURCE = "jinr-2023-10-04-agreement-of-intent"
# Columns that say how a row got there, not what it says.
BOOKKEEPING = {"origin", "created_at", "updated_at", "version", "position", "scheduled_since"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, admin_ids=frozenset({ADMIN}))


async def _curate(running: Running) -> None:
    """Admin changes of every sort an export must carry: an edit, a deletion, a cancellation,
    an added event with a local time."""
    now = running.clock.now()
    async with running.sessions.begin() as session:
        await curation.edit(
            session,
            "fact",
            "agreement-signed",
            {"title": "Edited <title> & co"},
            seen_version=1,
            admin_id=ADMIN,
            now=now,
        )
        await curation.edit(
            session,
            "fact",
            "agreement-purpose",
            {"deleted_at": now},
            seen_version=1,
            admin_id=ADMIN,
            now=now,
            action=Action.DELETE,
        )
        await curation.edit(
            session,
            "event",
            "cp-session-2023",
            {"status": "cancelled"},
            seen_version=1,
            admin_id=ADMIN,
            now=now,
            action=Action.CANCEL,
        )
        await curation.add(
            session,
            "event",
            {
                "id": "winter-school",
                "title": "Winter school",
                "description": "A school.",
                "place": "Almaty",
                "zone": "Asia/Almaty",
                "precision": "minute",
                # 10:00 in Almaty (UTC+5).
                "starts_at": datetime(2026, 12, 1, 5, 0, tzinfo=UTC),
                "ends_at": None,
                "status": "scheduled",
                "source_id": SOURCE,
            },
            admin_id=ADMIN,
            now=now,
        )


async def _exported(running: Running) -> dict[str, bytes]:
    answer = await curator(running).send("/export")
    assert answer.document is not None
    assert answer.document.filename.endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(answer.document.content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _unpack(files: dict[str, bytes], folder: Path) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


async def _content(session: AsyncSession) -> dict[str, list[dict[str, Any]]]:
    """What the curated rows say, in file order, without how they got there; translations of
    the items exported (a deleted fact's are left out with it)."""
    rows = dict(await exports.content_rows(session))
    facts = {getattr(fact, "id", None) for fact in rows["facts"]}
    rows["translations"] = [
        row
        for row in rows["translations"]
        if getattr(row, "kind", None) != "fact" or getattr(row, "item_id", None) in facts
    ]
    return {
        table: [
            {
                c.key: getattr(row, c.key)
                for c in row.__mapper__.column_attrs
                if c.key not in BOOKKEEPING
            }
            for row in found
        ]
        for table, found in rows.items()
    }


async def test_export_passes_the_check_and_round_trips_through_sync(
    running: Running, engine: AsyncEngine, tmp_path: Path
) -> None:
    await _curate(running)
    files = await _exported(running)
    assert set(files) >= {
        "sources.toml",
        "topics.toml",
        "facts.toml",
        "people.toml",
        "facilities.toml",
        "events.toml",
        "sources/jinr-2023-10-04-agreement-of-intent.txt",
    }
    events = files["events.toml"].decode()
    assert 'starts = "2023-11"' in events
    assert 'starts = "2023-10-02"' in events
    assert 'starts = "2026-12-01T10:00"' in events
    assert 'status = "cancelled"' in events
    assert "agreement-purpose" not in files["facts.toml"].decode(), "deleted facts are left out"

    records = load_content(_unpack(files, tmp_path / "exported"))
    fresh = async_sessionmaker(engine, expire_on_commit=False)
    async with fresh.begin() as session:
        await sync_content(session, records)
    async with fresh() as session:
        synced = await _content(session)
    async with running.sessions() as session:
        original = await _content(session)
    assert synced == original


async def test_stats_counts_subscribers_deliveries_content_and_refusals(
    running: Running,
) -> None:
    await _curate(running)
    now = running.clock.now()
    async with running.sessions.begin() as session:
        for chat_id, active in ((1001, True), (1002, True), (1003, False)):
            session.add(Chat(id=chat_id, type="private", active=active))
            session.add(Subscription(chat_id=chat_id))
        session.add(Digest(id="d-old", kind="summary", due_at=now, text="x", late=True))
        session.add(Digest(id="d-new", kind="summary", due_at=now, text="x"))
        await session.flush()
        session.add(Delivery(digest_id="d-old", chat_id=1001, status="sent", updated_at=now))
        session.add(Delivery(digest_id="d-new", chat_id=1001, status="sent", updated_at=now))
        session.add(Delivery(digest_id="d-new", chat_id=1002, status="failed", updated_at=now))
        session.add(Delivery(digest_id="d-old", chat_id=1002, status="superseded", updated_at=now))
        stale = now - timedelta(days=8)
        session.add(Delivery(digest_id="d-new", chat_id=1003, status="skipped", updated_at=stale))
        session.add(Refusal(at=stale, user_id=778, chat_id=778, command="/stats", count=5))
    stranger = running.chat(777, first_name="Stranger")
    await stranger.send("/stats")
    await stranger.send("/export")
    await stranger.send("/stats")

    answer = await curator(running).send("/stats")
    text = answer.text
    assert "Subscribers: 2 active, 1 blocked" in text
    assert "2 sent, 1 failed, 2 late, 0 skipped, 1 superseded by a correction" in text
    # 09:00 on Monday in Almaty: the default summary crontab.
    assert "Summary: Monday 30 November, 09:00 (Asia/Almaty)" in text
    assert "Reminder 7d before “Winter school”: Tuesday 24 November" not in text, "in the past"
    assert "Reminder 1d before “Winter school”: Monday 30 November, 10:00" in text
    # _curate deletes a fact, adds an event ahead and cancels one of content's, all over.
    over = sum(event["status"] == "scheduled" for event in RECORD.events) - 1
    assert (
        f"Content: facts {FACTS - 1} (deleted 1) · events upcoming 1, over {over} (cancelled 1) "
        f"· people {len(RECORD.people)} · facilities {len(RECORD.facilities)} "
        f"· sources {len(RECORD.sources)} · topics {len(RECORD.topics)}"
    ) in text
    assert "Refused admin attempts, last 7 days: 3 (users: 1)" in text


async def test_reimporting_the_export_changes_nothing(running: Running) -> None:
    files = await _exported(running)
    answer = await _upload(running, "content.zip", _zip(files))
    assert "Nothing to import" in answer.text
    assert not answer.buttons
    assert await count_of(running, Change) == 0


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


async def _upload(
    running: Running, name: str, data: bytes, caption: str = "/import"
) -> SentMessage:
    return await curator(running).send_document(name, data, caption=caption)


async def _facts_file(running: Running) -> str:
    return (await _exported(running))["facts.toml"].decode()


NEW_FACT = f"""
[[facts]]
id = "new-fact"
topic = "agreement"
title = "A <new> fact"
text = "Imported & checked."
source = "{SOURCE}"
"""


async def test_import_shows_a_dry_run_and_applies_on_confirm(running: Running) -> None:
    facts = await _facts_file(running)
    changed = facts.replace('"An agreement of intent"', '"Renamed by import"') + NEW_FACT
    chat = curator(running)
    preview = await chat.send_document("facts.toml", changed.encode(), caption="/import")
    assert "created: new-fact" in preview.text
    assert "updated: agreement-signed (title)" in preview.text
    assert "unchanged" in preview.text
    assert await count_of(running, Change) == 0, "a dry run writes nothing"

    done = await chat.press(preview, "Import")
    assert "Imported" in done.text
    async with running.sessions() as session:
        renamed = await session.get_one(Fact, "agreement-signed")
        added = await session.get_one(Fact, "new-fact")
        actions = (await session.scalars(select(Change.action))).all()
    assert renamed.title == "Renamed by import"
    assert added.title == "A <new> fact"
    assert actions == ["import", "import"]
    history = await chat.send("/history agreement-signed")
    assert "import (fact) by Curator (id 4242)" in history.text
    listed = await chat.send("/facts agreement")
    assert "Renamed by import" in listed.text, "the knowledge in memory is refreshed"


async def test_import_cancel_writes_nothing(running: Running) -> None:
    chat = curator(running)
    preview = await chat.send_document(
        "facts.toml", ((await _facts_file(running)) + NEW_FACT).encode(), caption="/import"
    )
    answer = await chat.press(preview, "✖️ Cancel")
    assert answer.text == texts_for("en")("drafts.cancelled")
    assert await count_of(running, Change) == 0
    assert not answer.buttons


async def test_an_older_dry_run_cannot_be_applied(running: Running) -> None:
    chat = curator(running)
    file = ((await _facts_file(running)) + NEW_FACT).encode()
    older = await chat.send_document("facts.toml", file, caption="/import")
    await chat.send_document("facts.toml", file, caption="/import")
    answer = await chat.press_for_answer(older, "Import")
    assert answer.show_alert
    assert answer.text == texts_for("en")("drafts.gone")
    assert await count_of(running, Change) == 0


async def test_import_keeps_what_an_admin_edited(running: Running) -> None:
    await _curate(running)
    facts = (await _facts_file(running)).replace("Edited <title> & co", "From the file")
    answer = await _upload(running, "facts.toml", facts.encode())
    assert "Nothing to import" in answer.text
    assert "kept as an admin changed them (not imported): agreement-signed (title)" in answer.text


async def test_import_refuses_when_the_content_changed_after_the_dry_run(
    running: Running,
) -> None:
    chat = curator(running)
    preview = await chat.send_document(
        "facts.toml", ((await _facts_file(running)) + NEW_FACT).encode(), caption="/import"
    )
    await _curate(running)
    changes = await count_of(running, Change)
    answer = await chat.press(preview, "Import")
    assert "changed since this preview" in answer.text
    assert await count_of(running, Change) == changes
    async with running.sessions() as session:
        assert await session.get(Fact, "new-fact") is None


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("facts.toml", b"[[facts]\nid = ", "invalid TOML"),
        (
            "facts.toml",
            NEW_FACT.replace('"agreement"', '"agreemnt"').encode(),
            "facts.toml: fact 'new-fact' field 'topic': unknown topic 'agreemnt'",
        ),
        ("events.toml", b'[[facts]]\nid = "x"\n', "unknown top-level key 'facts'"),
        ("notes.txt", b"hello", "is not a content file"),
        ("content.zip", b"not a zip", "is not a readable zip"),
        ("content.zip", _zip({"readme.md": b"hi"}), "has no content file"),
        ("facts.toml", b"#" * 1_000_001, "too big"),
    ],
)
async def test_a_bad_import_file_is_explained_and_nothing_is_written(
    running: Running, name: str, data: bytes, expected: str
) -> None:
    answer = await _upload(running, name, data)
    assert expected in answer.text
    assert not answer.buttons
    assert await count_of(running, Change) == 0


async def test_an_imported_topic_is_in_history_and_not_revertible_here(running: Running) -> None:
    topics = (await _exported(running))["topics.toml"].decode()
    topics += '\n[[topics]]\nid = "new-topic"\ntitle = "New topic"\n'
    chat = curator(running)
    preview = await chat.send_document("topics.toml", topics.encode(), caption="/import")
    assert "created: new-topic" in preview.text
    await chat.press(preview, "Import")
    async with running.sessions() as session:
        change = (await session.scalars(select(Change))).one()
    assert (change.kind, change.item_id, change.action) == ("topic", "new-topic", "import")
    history = await chat.send("/history new-topic")
    assert f"#{change.id}" in history.text
    answer = await chat.send(f"/revert {change.id}")
    assert "import a corrected file instead" in answer.text
    assert await count_of(running, Change) == 1


async def test_import_without_a_file_explains_how(running: Running) -> None:
    answer = await curator(running).send("/import")
    assert "with /import as its caption" in answer.text


async def test_someone_else_sending_an_import_file_is_refused(running: Running) -> None:
    stranger = running.chat(777, first_name="Stranger")
    answer = await stranger.send_document("facts.toml", NEW_FACT.encode(), caption="/import")
    assert "curators only" in answer.text
    assert await count_of(running, Refusal) == 1
    assert await count_of(running, Change) == 0
    async with running.sessions() as session:
        assert await session.get(Fact, "new-fact") is None
        assert (await session.get_one(Event, "cp-session-2023")).status == "scheduled"


async def test_an_import_report_over_telegrams_limit_goes_on_in_more_messages(
    running: Running,
) -> None:
    many = "".join(
        NEW_FACT.replace('id = "new-fact"', f'id = "imported-fact-{n:03}"') for n in range(250)
    )
    chat = curator(running)
    preview = await chat.send_document(
        "facts.toml", ((await _facts_file(running)) + many).encode(), caption="/import"
    )
    # The dry run's own parts come first; the buttons are on its last.
    while not preview.buttons:
        preview = await chat.next_message()
    done = await chat.press(preview, "Import")
    assert done.message_id == preview.message_id, "the report starts in the preview's place"
    assert "Imported" in done.text
    parts = [done]
    while "imported-fact-249" not in parts[-1].text:
        parts.append(await chat.next_message())
    assert len(parts) > 1
    assert all(len(part.text) <= 4096 for part in parts)
    report = "".join(part.text for part in parts)
    assert all(f"imported-fact-{n:03}" in report for n in range(250))
