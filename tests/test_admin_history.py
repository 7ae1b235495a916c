"""/history and /revert through the emulator: what changed, undoing it, and when it cannot be."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from bot.emulator import ChatSession
from bot.settings import Settings
from bot.telegram import sightings
from bot.texts import texts_for
from storage import curation
from storage.models import Action, Change, Fact
from tests.conftest import ADMIN, OTHER_ADMIN, Running, both_ways, curator
from tests.helpers import changes

NEW_FACT = "new-fact"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, admin_ids=frozenset({ADMIN, OTHER_ADMIN}))


async def _edit_title(running: Running, title: str, *, admin_id: int = ADMIN) -> int:
    async with running.sessions.begin() as session:
        fact = await curation.get(session, "fact", "agreement-signed")
        change = await curation.edit(
            session,
            "fact",
            "agreement-signed",
            {"title": title},
            seen_version=fact.version,
            admin_id=admin_id,
            now=running.clock.now(),
        )
        return change.id


async def _add_fact(running: Running) -> int:
    async with running.sessions.begin() as session:
        added = await curation.add(
            session,
            "fact",
            {
                "id": NEW_FACT,
                "topic": "agreement",
                "title": "Added title",
                "text": "Text",
                "source_id": "jinr-2023-10-04-agreement-of-intent",
            },
            admin_id=ADMIN,
            now=running.clock.now(),
        )
        return added.id


async def _edit_fact(
    running: Running, values: dict[str, object], action: str = Action.EDIT
) -> int:
    async with running.sessions.begin() as session:
        fact = await curation.get(session, "fact", NEW_FACT)
        change = await curation.edit(
            session,
            "fact",
            NEW_FACT,
            values,
            seen_version=fact.version,
            admin_id=ADMIN,
            now=running.clock.now(),
            action=action,
        )
        return change.id


async def _confirm_revert(running: Running, chat: ChatSession, change_id: int) -> int:
    """Revert through the bot, preview and Confirm; the number of the change it records."""
    preview = await chat.send(f"/revert {change_id}")
    await chat.press(preview, "Undo it")
    async with running.sessions() as session:
        latest = await curation.latest_change(session, "fact", NEW_FACT)
    assert latest is not None
    assert latest.reverts == change_id
    return latest.id


async def _hidden(running: Running) -> bool:
    async with running.sessions() as session:
        return (await session.get_one(Fact, NEW_FACT)).deleted_at is not None


async def _title(running: Running) -> str:
    async with running.sessions() as session:
        fact = await session.get_one(Fact, "agreement-signed")
        return fact.title


async def test_history_shows_edits_latest_first_with_before_and_after(running: Running) -> None:
    first = await _edit_title(running, "First <b>title</b> & more")
    running.clock.advance(timedelta(hours=1))
    second = await _edit_title(running, "x" * 300, admin_id=OTHER_ADMIN)
    answer = await curator(running).send("/history agreement-signed")
    text = answer.text
    assert text.index(f"#{second}") < text.index(f"#{first}")
    assert "title: An agreement of intent → First <b>title</b> & more" in text
    assert "by admin 4343" in text
    # 12:00 UTC is 17:00 in Almaty (UTC+5), the configured zone.
    assert "2026-11-25 17:00 Asia/Almaty" in text
    assert "x" * 79 + "…" in text
    assert "x" * 81 not in text
    assert "&lt;b&gt;title&lt;/b&gt; &amp; more" in answer.html, "typed markup is escaped"


@both_ways
async def test_history_alone_gives_the_usage_and_the_latest_changes(running: Running) -> None:
    await _edit_title(running, "Renamed")
    answer = await curator(running).send("/history")
    assert "/history agreement-signed" in answer.text
    assert "edit fact agreement-signed by Curator (id 4242)" in answer.text


async def test_history_of_an_unknown_or_malformed_id_says_so(running: Running) -> None:
    chat = curator(running)
    assert (
        "no fact or event with the id nothing-here"
        in (await chat.send("/history nothing-here")).text
    )
    assert "is not an id" in (await chat.send("/history <Bad>")).text
    assert "no recorded changes" in (await chat.send("/history agreement-purpose")).text


async def test_revert_previews_then_restores_on_confirm(running: Running) -> None:
    change = await _edit_title(running, "Wrong title")
    chat = curator(running)
    preview = await chat.send(f"/revert {change}")
    assert "title: Wrong title → An agreement of intent" in preview.text
    assert await _title(running) == "Wrong title", "the preview writes nothing"
    done = await chat.press(preview, "Undo it")
    assert f"change #{change}" in done.text
    assert await _title(running) == "An agreement of intent"
    history = await chat.send("/history agreement-signed")
    assert f"undoes #{change}" in history.text
    assert "revert (fact) by Curator (id 4242)" in history.text
    facts = await chat.send("/facts agreement")
    assert "An agreement of intent" in facts.text, "the knowledge in memory is refreshed"


async def test_revert_cancel_changes_nothing(running: Running) -> None:
    change = await _edit_title(running, "Wrong title")
    chat = curator(running)
    preview = await chat.send(f"/revert {change}")
    answer = await chat.press(preview, "✖️ Cancel")
    assert answer.text == texts_for("en")("drafts.cancelled")
    assert await _title(running) == "Wrong title"
    assert await changes(running) == 1


async def test_a_revert_preview_forgotten_by_a_restart_undoes_nothing(running: Running) -> None:
    change = await _edit_title(running, "Wrong title")
    chat = curator(running)
    preview = await chat.send(f"/revert {change}")
    running.app.user_data[ADMIN].drafts.clear()
    press = running.emulator.press_button(preview, "Undo it", chat.user)
    answer = await running.emulator.wait_for_callback_answer(press)
    assert answer.show_alert
    assert answer.text == texts_for("en")("drafts.gone")
    assert await _title(running) == "Wrong title"
    assert await changes(running) == 1
    again = await chat.send(f"/revert {change}")
    await chat.press(again, "Undo it")
    assert await _title(running) == "An agreement of intent", "a new preview works"


async def test_reverting_an_older_change_names_the_later_ones_it_undoes_too(
    running: Running,
) -> None:
    await _add_fact(running)
    edited = await _edit_fact(running, {"title": "Edited title"})
    deleted = await _edit_fact(running, {"deleted_at": running.clock.now()}, Action.DELETE)
    restored = await _edit_fact(running, {"deleted_at": None}, Action.RESTORE)
    chat = curator(running)
    preview = await chat.send(f"/revert {edited}")
    assert "title: Edited title → Added title" in preview.text
    assert "deleted_at" not in preview.text, "only what differs from now is shown"
    also = preview.text.split("also undoes the later changes:")[1]
    assert f"#{restored} restore (fact)" in also
    assert f"#{deleted} delete (fact)" in also
    done = await chat.press(preview, "Undo it")
    assert f"change #{edited}" in done.text
    assert await changes(running) == 5, "one change more, the revert"
    facts = await chat.send("/facts agreement")
    assert "Added title" in facts.text
    assert "Edited title" not in facts.text


async def test_a_curator_gets_back_to_the_version_before_a_delete_after_undoing_its_undo(
    running: Running,
) -> None:
    """Add, edit, delete, undo the delete, undo that: undoing the delete again is possible,
    and gives the fact as the edit left it (it was "revert the later revert first", forever)."""
    await _add_fact(running)
    edited = await _edit_fact(running, {"title": "Edited title"})
    deleted = await _edit_fact(running, {"deleted_at": running.clock.now()}, Action.DELETE)
    chat = curator(running)
    undeleted = await _confirm_revert(running, chat, deleted)
    deleted_again = await _confirm_revert(running, chat, undeleted)
    assert await _hidden(running)

    preview = await chat.send(f"/revert {deleted}")
    assert "deleted_at: 2026-11-25 17:00 Asia/Almaty → —" in preview.text
    assert "title:" not in preview.text
    also = preview.text.split("also undoes the later changes:")[1]
    assert f"#{deleted_again} revert (fact)" in also
    assert f"#{undeleted} revert (fact)" in also
    await chat.press(preview, "Undo it")

    assert not await _hidden(running)
    async with running.sessions() as session:
        latest = await curation.latest_change(session, "fact", NEW_FACT)
        version_after_edit = await session.get_one(Change, edited)
    assert latest is not None
    assert (latest.action, latest.reverts) == ("revert", deleted)
    assert curation.fields_of(latest.after) == curation.fields_of(version_after_edit.after)
    history = await chat.send(f"/history {NEW_FACT}")
    assert f"#{latest.id} revert (fact) by Curator (id 4242)" in history.text
    assert f"undoes #{deleted}" in history.text
    facts = await chat.send("/facts agreement")
    assert "Edited title" in facts.text


async def test_reverting_to_what_the_item_already_is_says_nothing_would_change(
    running: Running,
) -> None:
    await _add_fact(running)
    deleted = await _edit_fact(running, {"deleted_at": running.clock.now()}, Action.DELETE)
    await _edit_fact(running, {"deleted_at": None}, Action.RESTORE)
    preview = await curator(running).send(f"/revert {deleted}")
    assert "nothing would change" in preview.text
    assert not preview.buttons, "there is nothing to confirm"
    assert await changes(running) == 3


async def test_a_change_made_after_the_preview_blocks_the_confirm(running: Running) -> None:
    """Named in the refusal are the changes made since the preview, not those it showed."""
    first = await _edit_title(running, "One")
    shown = await _edit_title(running, "Two")
    chat = curator(running)
    preview = await chat.send(f"/revert {first}")
    meanwhile = await _edit_title(running, "Three", admin_id=OTHER_ADMIN)
    answer = await chat.press(preview, "Undo it")
    assert "Nothing undone: fact agreement-signed changed after this preview" in answer.text
    assert f"#{meanwhile} edit (fact) by admin {OTHER_ADMIN}" in answer.text
    assert f"#{shown} " not in answer.text
    assert f"/revert {first} again" in answer.text
    assert await _title(running) == "Three"
    assert await changes(running) == 3
    again = await chat.send(f"/revert {first}")
    assert "title: Three → An agreement of intent" in again.text, "a new preview shows it now"


async def test_reverting_an_addition_hides_the_fact(running: Running) -> None:
    async with running.sessions.begin() as session:
        added = await curation.add(
            session,
            "fact",
            {
                "id": "new-fact",
                "topic": "agreement",
                "title": "New",
                "text": "Text",
                "source_id": "jinr-2023-10-04-agreement-of-intent",
            },
            admin_id=ADMIN,
            now=running.clock.now(),
        )
        change_id = added.id
    chat = curator(running)
    preview = await chat.send(f"/revert {change_id}")
    assert "hides the fact" in preview.text
    await chat.press(preview, "Undo it")
    async with running.sessions() as session:
        fact = await session.get_one(Fact, "new-fact")
    assert fact.deleted_at is not None


@pytest.mark.parametrize(
    "command",
    [
        "/revert",
        "/revert twelve",
        "/revert 1 2",
        "/revert 999",
        "/revert 99999999999999999999",
        # A digit to str.isdigit, not to int().
        "/revert ²",
    ],
)
async def test_bad_revert_input_gets_the_usage_and_writes_nothing(
    running: Running, command: str
) -> None:
    answer = await curator(running).send(command)
    assert "/history" in answer.text, "it says where the change numbers are"
    assert await changes(running) == 0


async def test_times_in_history_are_shown_in_the_bots_zone(running: Running) -> None:
    async with running.sessions.begin() as session:
        fact = await curation.get(session, "fact", "agreement-signed")
        await curation.edit(
            session,
            "fact",
            fact.id,
            {"deleted_at": running.clock.now()},
            seen_version=fact.version,
            admin_id=ADMIN,
            now=running.clock.now(),
            action=Action.DELETE,
        )
    text = (await curator(running).send("/history agreement-signed")).text
    # The clock says 12:00 UTC: 17:00 in Almaty, the configured zone.
    assert "deleted_at: — → 2026-11-25 17:00 Asia/Almaty" in text


async def test_admins_are_named_as_telegram_last_gave_it_with_their_id(running: Running) -> None:
    """Named once seen (escaped), by the id alone before; the name outlives a restart."""
    change = await _edit_title(running, "Renamed", admin_id=OTHER_ADMIN)
    viewer = curator(running)
    assert f"by admin {OTHER_ADMIN}," in (await viewer.send("/history agreement-signed")).text

    other = running.chat(OTHER_ADMIN, first_name="Aigerim <b>", last_name="Sarsenova")
    await other.send("/history")
    answer = await viewer.send("/history agreement-signed")
    assert f"#{change} edit (fact) by Aigerim <b> Sarsenova (id {OTHER_ADMIN})," in answer.text
    assert "Aigerim &lt;b&gt; Sarsenova" in answer.html

    await sightings.save(running.app.bot_data)
    running.app.bot_data.admin_names.clear()
    await sightings.load_admin_names(running.app.bot_data)
    answer = await viewer.send("/history agreement-signed")
    assert f"by Aigerim <b> Sarsenova (id {OTHER_ADMIN})," in answer.text
