"""Admins add, edit, delete and restore facts from Telegram: every step through the emulator."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from sqlalchemy import func, select
from telegram.ext import ConversationHandler

from bot.emulator import ChatSession, SentMessage
from bot.settings import Limits, Settings
from storage.models import Change, Fact, Source
from tests.conftest import Running

ADMIN, OTHER_ADMIN = 4242, 4343
SOURCE_ID = "jinr-2023-10-04-agreement-of-intent"
TOPIC_TITLE = "The agreement of intent"
# The replies of a guided conversation are many; pacing them is not what these tests are about.
QUICK = Limits(per_second=1000, per_chat_per_second=1000)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, admin_ids=frozenset({ADMIN, OTHER_ADMIN}), limits=QUICK)


def admin(running: Running, user_id: int = ADMIN) -> ChatSession:
    return running.chat(user_id, first_name="Curator")


async def changes(running: Running) -> int:
    async with running.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Change)) or 0


async def stored(running: Running, fact_id: str) -> Fact | None:
    async with running.sessions() as session:
        return await session.get(Fact, fact_id)


async def decide(chat: ChatSession, preview: SentMessage, choice: str) -> SentMessage:
    """Press Confirm or Cancel; the buttons are taken off, then the bot answers."""
    unbuttoned = await chat.press(preview, choice)
    assert unbuttoned.message_id == preview.message_id
    assert not unbuttoned.buttons
    return await chat.next_message()


async def guided_to_preview(chat: ChatSession, title: str = "Working group formed") -> SentMessage:
    asked_topic = await chat.send("/addfact")
    assert "step 1 of 4" in asked_topic.text
    asked_title = await chat.press(asked_topic, TOPIC_TITLE)
    assert "Step 2 of 4" in asked_title.text
    asked_text = await chat.send(title)
    assert "Step 3 of 4" in asked_text.text
    asked_source = await chat.send("The sides agreed to form a joint working group.")
    assert "Step 4 of 4" in asked_source.text
    return await chat.press(asked_source, f"afs:{SOURCE_ID}")


async def test_the_guided_addfact_saves_what_the_preview_showed(running: Running) -> None:
    chat = admin(running)
    preview = await guided_to_preview(chat)
    assert "working-group-formed" in preview.text, "the preview names the id the fact gets"
    assert "Working group formed\nThe sides agreed" in preview.text
    assert "📎 Source: JINR" in preview.text
    assert preview.button_labels == ["✅ Confirm", "✖️ Cancel"]
    assert await changes(running) == 0, "nothing is written before Confirm"

    done = await decide(chat, preview, "✅ Confirm")
    assert "Added the fact working-group-formed" in done.text
    fact = await stored(running, "working-group-formed")
    assert fact is not None
    assert (fact.topic, fact.title, fact.source_id, fact.origin) == (
        "agreement",
        "Working group formed",
        SOURCE_ID,
        "admin",
    )
    async with running.sessions() as session:
        change = (await session.scalars(select(Change))).one()
    assert (change.admin_id, change.action, change.item_id) == (ADMIN, "add", fact.id)


async def test_a_new_fact_is_in_facts_and_search_at_once(running: Running) -> None:
    chat = admin(running)
    await decide(chat, await guided_to_preview(chat, "Zeppelin workshop planned"), "✅ Confirm")
    reader = running.chat(1001)
    page = await reader.send("/facts agreement")
    assert "Zeppelin workshop planned" in page.text
    assert "zeppelin-workshop-planned" not in page.text, "ids are for admins"
    found = await reader.send("/search zeppelin")
    assert "Zeppelin workshop planned" in found.text


async def test_admins_see_fact_ids_in_their_private_chat_only(running: Running) -> None:
    mine = await admin(running).send("/facts agreement")
    assert "An agreement of intent · agreement-signed" in mine.text
    curator = running.user(ADMIN, "Curator")
    group = running.emulator.group(-100500, admins=[curator])
    in_group = await running.emulator.group_chat(group, curator).send("/facts agreement")
    assert "agreement-signed" not in in_group.text


@pytest.mark.parametrize("steps", range(5))
async def test_cancel_at_any_step_saves_nothing(running: Running, steps: int) -> None:
    chat = admin(running)
    message = await chat.send("/addfact")
    answers = [TOPIC_TITLE, "A title", "A text", f"afs:{SOURCE_ID}"]
    for answer in answers[:steps]:
        message = await chat.press(message, answer) if message.buttons else await chat.send(answer)
    assert ("Preview" in message.text) == (steps == 4)
    cancelled = await chat.send("/cancel")
    assert cancelled.text == "Cancelled. Nothing was saved."
    assert await changes(running) == 0
    after = await chat.send("/cancel")
    assert after.text == "Nothing to cancel: no draft is under way."
    searched = await chat.send("agreement")
    assert "Step" not in searched.text, "typed text is a search again"


async def test_the_cancel_button_saves_nothing(running: Running) -> None:
    chat = admin(running)
    done = await decide(chat, await guided_to_preview(chat), "✖️ Cancel")
    assert done.text == "Cancelled. Nothing was saved."
    assert await changes(running) == 0
    assert await stored(running, "working-group-formed") is None


async def test_cancel_with_nothing_under_way_is_answered_for_anyone(running: Running) -> None:
    answer = await running.chat(1001).send("/cancel")
    assert answer.text == "Nothing to cancel: no draft is under way."


async def test_an_idle_draft_times_out_and_the_conversation_ends(running: Running) -> None:
    chat = admin(running)
    asked = await chat.send("/addfact")
    await chat.press(asked, TOPIC_TITLE)
    # Updates of a chat are handled one after another: once /help is answered, the press's
    # handler has returned and the conversation has scheduled its timeout.
    await chat.send("/help")
    conversation = next(
        handler
        for handler in running.app.handlers[0]
        if isinstance(handler, ConversationHandler) and handler.name == "facts"
    )
    job = conversation.timeout_jobs[(ADMIN, ADMIN)]
    assert job.next_t is not None
    job.schedule_removal()
    await job.run(running.app)
    timed_out = await chat.next_message()
    assert "waited over 15 minutes" in timed_out.text
    searched = await chat.send("agreement")
    assert "Step" not in searched.text, "the title step is over"
    assert await changes(running) == 0


async def test_the_one_line_form_previews_and_saves(running: Running) -> None:
    chat = admin(running)
    preview = await chat.send(
        f"/addfact agreement | Pipes allowed | The text may hold a | as well | {SOURCE_ID}"
    )
    assert "pipes-allowed" in preview.text
    await decide(chat, preview, "✅ Confirm")
    fact = await stored(running, "pipes-allowed")
    assert fact is not None
    assert fact.text == "The text may hold a | as well"


async def test_a_web_address_as_source_makes_a_new_source(running: Running) -> None:
    chat = admin(running)
    url = "https://www.jinr.ru/posts/new-working-group/"
    preview = await chat.send(f"/addfact agreement | Working group | A text. | {url}")
    assert "A new source will be added: jinr-ru-posts-new-working-group" in preview.text
    await decide(chat, preview, "✅ Confirm")
    async with running.sessions() as session:
        source = await session.get(Source, "jinr-ru-posts-new-working-group")
        fact = await session.get(Fact, "working-group")
    assert source is not None
    assert fact is not None
    assert (source.title, source.publisher, source.url) == (
        "jinr.ru/posts/new-working-group",
        "jinr.ru",
        url,
    )
    # 12:00 UTC is 17:00 in Almaty, the configured zone: the same day.
    assert source.published == date(2026, 11, 25)
    assert fact.source_id == source.id
    assert await changes(running) == 2


async def test_a_repeated_title_gets_a_numbered_id(running: Running) -> None:
    chat = admin(running)
    line = f"/addfact agreement | Agreement of intent signed | Again. | {SOURCE_ID}"
    preview = await chat.send(line)
    assert "agreement-of-intent-signed" in preview.text
    await decide(chat, preview, "✅ Confirm")
    second = await chat.send(line)
    assert "agreement-of-intent-signed-2" in second.text
