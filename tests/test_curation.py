"""Admin changes: written with their history, refused when the item moved on, undoable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.content import load_content
from bot.settings import Settings
from storage import curation
from storage.knowledge import load
from storage.models import Event, Fact
from storage.sync import sync_content

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ADMIN, OTHER_ADMIN = 42, 43
SOURCE = "jinr-2023-10-04-agreement-of-intent"
NEW_FACT = {
    "id": "new-fact",
    "topic": "agreement",
    "title": "A <new> fact",
    "text": "Said & done.",
    "source_id": SOURCE,
}

Sessions = async_sessionmaker[AsyncSession]


async def _add_new_fact(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        await curation.add(session, "fact", NEW_FACT, admin_id=ADMIN, now=NOW)


async def test_an_added_fact_is_shown_and_its_addition_recorded(sessions: Sessions) -> None:
    await _add_new_fact(sessions)
    async with sessions() as session:
        known = await load(session)
        changes = await curation.history(session, "fact", "new-fact")
    assert "A <new> fact" in [fact.title for fact in known.facts]
    (added,) = changes
    assert (added.action, added.admin_id, added.at, added.before) == ("add", ADMIN, NOW, None)
    assert curation.fields_of(added.after)["text"] == "Said & done."


async def test_adding_a_taken_id_is_refused_and_writes_nothing(sessions: Sessions) -> None:
    await _add_new_fact(sessions)
    with pytest.raises(curation.Duplicate):
        async with sessions.begin() as session:
            await curation.add(session, "fact", NEW_FACT, admin_id=OTHER_ADMIN, now=NOW)
    async with sessions() as session:
        assert len(await curation.history(session, "fact", "new-fact")) == 1


async def test_an_edit_on_a_stale_version_is_refused(sessions: Sessions) -> None:
    """Two admins open the same fact; the second to save is told, and nothing is overwritten."""
    async with sessions() as session:
        seen = (await curation.get(session, "fact", "agreement-signed")).version
    async with sessions.begin() as session:
        await curation.edit(
            session,
            "fact",
            "agreement-signed",
            {"title": "First"},
            seen_version=seen,
            admin_id=ADMIN,
            now=NOW,
        )
    with pytest.raises(curation.Conflict) as refused:
        async with sessions.begin() as session:
            await curation.edit(
                session,
                "fact",
                "agreement-signed",
                {"title": "Second"},
                seen_version=seen,
                admin_id=OTHER_ADMIN,
                now=NOW,
            )
    assert refused.value.latest is not None
    assert refused.value.latest.admin_id == ADMIN
    async with sessions() as session:
        fact = await curation.get(session, "fact", "agreement-signed")
    assert fact.title == "First"


async def test_delete_restore_and_revert_walk_the_history(sessions: Sessions) -> None:
    async with sessions.begin() as session:
        fact = await curation.get(session, "fact", "agreement-signed")
        original = fact.title
        await curation.edit(
            session,
            "fact",
            fact.id,
            {"title": "Changed"},
            seen_version=fact.version,
            admin_id=ADMIN,
            now=NOW,
        )
    async with sessions.begin() as session:
        edited = (await curation.history(session, "fact", "agreement-signed"))[0]
        await curation.revert(session, edited.id, admin_id=OTHER_ADMIN, now=NOW)
    async with sessions.begin() as session:
        fact = await curation.get(session, "fact", "agreement-signed")
        assert fact.title == original
        await curation.edit(
            session,
            "fact",
            fact.id,
            {"deleted_at": NOW},
            seen_version=fact.version,
            admin_id=ADMIN,
            now=NOW,
            action=curation.DELETE,
        )
    async with sessions() as session:
        assert "agreement-signed" not in [f.id for f in (await load(session)).facts]
        actions = [c.action for c in await curation.history(session, "fact", "agreement-signed")]
    assert actions == ["delete", "revert", "edit"]


async def test_a_change_with_later_changes_cannot_be_reverted(sessions: Sessions) -> None:
    await _add_new_fact(sessions)
    async with sessions.begin() as session:
        fact = await curation.get(session, "fact", "new-fact")
        await curation.edit(
            session,
            "fact",
            "new-fact",
            {"text": "Later"},
            seen_version=fact.version,
            admin_id=ADMIN,
            now=NOW,
        )
    async with sessions() as session:
        added = (await curation.history(session, "fact", "new-fact"))[-1]
    with pytest.raises(curation.Conflict):
        async with sessions.begin() as session:
            await curation.revert(session, added.id, admin_id=ADMIN, now=NOW)


async def test_reverting_an_added_event_cancels_it(sessions: Sessions) -> None:
    starts = NOW + timedelta(days=10)
    values = {
        "id": "new-event",
        "title": "Seminar",
        "description": "",
        "place": "Almaty",
        "zone": "Asia/Almaty",
        "precision": "minute",
        "starts_at": starts,
        "source_id": SOURCE,
    }
    async with sessions.begin() as session:
        added = await curation.add(session, "event", values, admin_id=ADMIN, now=NOW)
    async with sessions.begin() as session:
        await curation.revert(session, added.id, admin_id=ADMIN, now=NOW)
    async with sessions() as session:
        event = await session.get(Event, "new-event")
    assert event is not None
    assert (event.status, event.starts_at) == ("cancelled", starts)


async def test_content_sync_leaves_an_admin_edit_alone(
    sessions: Sessions, settings: Settings
) -> None:
    async with sessions.begin() as session:
        fact = await curation.get(session, "fact", "agreement-signed")
        await curation.edit(
            session,
            "fact",
            fact.id,
            {"title": "Admin's title"},
            seen_version=fact.version,
            admin_id=ADMIN,
            now=NOW,
        )
    async with sessions.begin() as session:
        report = await sync_content(session, load_content(settings.content_dir))
    assert report.kinds["facts"].kept == 1
    async with sessions() as session:
        title = await session.scalar(select(Fact.title).where(Fact.id == "agreement-signed"))
    assert title == "Admin's title"
