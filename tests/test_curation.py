"""Admin changes: written with their history, refused when the item moved on, undoable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.curation.loading import load_content
from bot.settings import Settings
from storage import curation
from storage.knowledge import load
from storage.models import Action, Change, Event, Fact
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
        seen = (await curation.get(session, "fact", "agreement-signed")).version
        await curation.revert(session, edited.id, seen_version=seen, admin_id=OTHER_ADMIN, now=NOW)
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
            action=Action.DELETE,
        )
    async with sessions() as session:
        assert "agreement-signed" not in [f.id for f in (await load(session)).facts]
        actions = [c.action for c in await curation.history(session, "fact", "agreement-signed")]
    assert actions == ["delete", "revert", "edit"]


async def _edit_new_fact(sessions: Sessions, values: dict[str, object]) -> int:
    async with sessions.begin() as session:
        fact = await curation.get(session, "fact", "new-fact")
        done = await curation.edit(
            session, "fact", "new-fact", values, seen_version=fact.version, admin_id=ADMIN, now=NOW
        )
        return done.id


async def _revert(sessions: Sessions, change_id: int, *, now: datetime = NOW) -> int:
    async with sessions.begin() as session:
        undone = await session.get_one(Change, change_id)
        item = await curation.get(session, undone.kind, undone.item_id)
        done = await curation.revert(
            session, change_id, seen_version=item.version, admin_id=ADMIN, now=now
        )
        return done.id


async def test_reverting_an_older_change_goes_back_to_before_it(sessions: Sessions) -> None:
    """Later changes are undone with it, and the going back is one change of its own."""
    await _add_new_fact(sessions)
    renamed = await _edit_new_fact(sessions, {"title": "Renamed"})
    await _edit_new_fact(sessions, {"text": "Later"})
    await _edit_new_fact(sessions, {"deleted_at": NOW})
    done = await _revert(sessions, renamed)
    async with sessions() as session:
        fact = await session.get_one(Fact, "new-fact")
        latest = await curation.latest_change(session, "fact", "new-fact")
    assert (fact.title, fact.text, fact.deleted_at) == ("A <new> fact", "Said & done.", None)
    assert latest is not None
    assert (latest.id, latest.action, latest.reverts) == (done, "revert", renamed)


async def test_a_revert_of_a_revert_goes_back_to_before_that_revert(sessions: Sessions) -> None:
    await _add_new_fact(sessions)
    renamed = await _edit_new_fact(sessions, {"title": "Renamed"})
    undone = await _revert(sessions, renamed)
    await _revert(sessions, undone)
    async with sessions() as session:
        assert (await session.get_one(Fact, "new-fact")).title == "Renamed"


async def test_a_revert_of_an_item_changed_since_it_was_seen_is_refused(
    sessions: Sessions,
) -> None:
    await _add_new_fact(sessions)
    renamed = await _edit_new_fact(sessions, {"title": "Renamed"})
    async with sessions() as session:
        seen = (await curation.get(session, "fact", "new-fact")).version
    await _edit_new_fact(sessions, {"title": "Renamed again"})
    with pytest.raises(curation.Conflict) as refused:
        async with sessions.begin() as session:
            await curation.revert(session, renamed, seen_version=seen, admin_id=ADMIN, now=NOW)
    assert refused.value.latest is not None
    assert refused.value.latest.change_id == renamed + 1
    async with sessions() as session:
        assert (await session.get_one(Fact, "new-fact")).title == "Renamed again"


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
        added_id = added.id
    await _revert(sessions, added_id)
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


async def test_reverting_a_move_of_an_event_reschedules_it(sessions: Sessions) -> None:
    """A revert is written as an edit is: reminders are due again at the start it restores."""
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
        await curation.add(session, "event", values, admin_id=ADMIN, now=NOW)
    changes = []
    for edit in ({"starts_at": starts + timedelta(days=1)}, {"place": "Astana"}):
        async with sessions.begin() as session:
            event = await session.get_one(Event, "new-event")
            done = await curation.edit(
                session,
                "event",
                "new-event",
                edit,
                seen_version=event.version,
                admin_id=ADMIN,
                now=NOW,
            )
            changes.append(done.id)
    later = NOW + timedelta(hours=1)
    await _revert(sessions, changes[0], now=later)
    async with sessions() as session:
        event = await session.get_one(Event, "new-event")
    assert (event.starts_at, event.place, event.scheduled_since) == (starts, "Almaty", later)


async def test_an_edit_committed_between_our_read_and_our_write_is_a_conflict(
    sessions: Sessions,
) -> None:
    """The version check of the write itself catches what the check before it could not."""

    async def edit_after_another_commits() -> None:
        async with sessions.begin() as session:
            seen = await curation.get(session, "fact", "agreement-signed")
            async with sessions.begin() as other:
                await curation.edit(
                    other,
                    "fact",
                    "agreement-signed",
                    {"title": "First"},
                    seen_version=seen.version,
                    admin_id=OTHER_ADMIN,
                    now=NOW,
                )
            await curation.edit(
                session,
                "fact",
                "agreement-signed",
                {"title": "Second"},
                seen_version=seen.version,
                admin_id=ADMIN,
                now=NOW,
            )

    with pytest.raises(curation.Conflict) as refused:
        await edit_after_another_commits()
    assert refused.value.latest is None, "the version check knows no more than that it failed"
    async with sessions() as session:
        fact = await curation.get(session, "fact", "agreement-signed")
    assert fact.title == "First"
