"""Admins add, edit, delete and restore facts from Telegram: every step through the emulator."""

from __future__ import annotations

import dataclasses
import logging
from datetime import date

import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select
from telegram.ext import ConversationHandler

from bot.emulator import ChatSession, SentMessage
from bot.settings import Settings
from storage.models import Change, Fact, Source
from tests.conftest import ADMIN, OTHER_ADMIN, UNPACED, Running, answers_before, both_ways, curator
from tests.helpers import changes

SOURCE_ID = "jinr-2023-10-04-agreement-of-intent"
TOPIC_TITLE = "The agreement of intent"
# A source's button shows the first 60 characters of its title.
# The source's title, cut at a word to fit a button.
SOURCE_BUTTON = "Agreement of intent signed between JINR and…"
# The replies of a guided conversation are many; pacing them is not what these tests are about.


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, admin_ids=frozenset({ADMIN, OTHER_ADMIN}), limits=UNPACED)


async def stored(running: Running, fact_id: str) -> Fact | None:
    async with running.sessions() as session:
        return await session.get(Fact, fact_id)


async def decide(chat: ChatSession, preview: SentMessage, choice: str) -> SentMessage:
    """Press Confirm or Cancel: the preview becomes the bot's answer, with no buttons left."""
    answered = await chat.press(preview, choice)
    assert answered.message_id == preview.message_id
    assert not answered.buttons
    return answered


async def guided_to_preview(chat: ChatSession, title: str = "Working group formed") -> SentMessage:
    asked_topic = await chat.send("/addfact")
    assert "step 1 of 4" in asked_topic.text
    asked_title = await chat.press(asked_topic, TOPIC_TITLE)
    assert "Step 2 of 4" in asked_title.text
    asked_text = await chat.send(title)
    assert "Step 3 of 4" in asked_text.text
    asked_source = await chat.send("The sides agreed to form a joint working group.")
    assert "Step 4 of 4" in asked_source.text
    return await chat.press(asked_source, SOURCE_BUTTON)


async def test_the_guided_addfact_saves_what_the_preview_showed(running: Running) -> None:
    chat = curator(running)
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
    chat = curator(running)
    await decide(chat, await guided_to_preview(chat, "Zeppelin workshop planned"), "✅ Confirm")
    reader = running.chat(1001)
    page = await reader.send("/facts agreement")
    assert "Zeppelin workshop planned" in page.text
    assert "zeppelin-workshop-planned" not in page.text, "ids are for admins"
    found = await reader.send("/search zeppelin")
    assert "Zeppelin workshop planned" in found.text


async def test_admins_see_fact_ids_in_their_private_chat_only(running: Running) -> None:
    mine = await curator(running).send("/facts agreement")
    assert "An agreement of intent · agreement-signed" in mine.text
    admin_user = running.user(ADMIN, "Curator")
    group = running.emulator.group(-100500, admins=[admin_user])
    in_group = await running.emulator.group_chat(group, admin_user).send("/facts agreement")
    assert "agreement-signed" not in in_group.text


@pytest.mark.parametrize("steps", range(5))
async def test_cancel_at_any_step_saves_nothing(running: Running, steps: int) -> None:
    chat = curator(running)
    message = await chat.send("/addfact")
    answers = [TOPIC_TITLE, "A title", "A text", SOURCE_BUTTON]
    for answer in answers[:steps]:
        message = await chat.press(message, answer) if message.buttons else await chat.send(answer)
    assert ("Preview" in message.text) == (steps == 4)
    cancelled = await chat.send("/cancel")
    assert cancelled.text == "✖️ Cancelled: nothing was changed."
    assert await changes(running) == 0
    after = await chat.send("/cancel")
    assert after.text == "Nothing to cancel: no draft is under way."
    searched = await chat.send("agreement")
    assert "Step" not in searched.text, "typed text is a search again"


async def test_the_cancel_button_saves_nothing(running: Running) -> None:
    chat = curator(running)
    done = await decide(chat, await guided_to_preview(chat), "✖️ Cancel")
    assert done.text == "✖️ Cancelled: nothing was changed."
    assert await changes(running) == 0
    assert await stored(running, "working-group-formed") is None


@both_ways
async def test_cancel_with_nothing_under_way_is_answered_for_anyone(running: Running) -> None:
    answer = await running.chat(1001).send("/cancel")
    assert answer.text == "Nothing to cancel: no draft is under way."


async def test_an_idle_draft_times_out_and_the_conversation_ends(running: Running) -> None:
    chat = curator(running)
    asked = await chat.send("/addfact")
    await chat.press(asked, TOPIC_TITLE)
    # Updates of a chat are handled one after another: once /help is answered, the press's
    # handler has returned and the conversation has scheduled its timeout.
    await chat.send("/help")
    conversation = next(
        inner
        for handler in running.app.handlers[0]
        # The conversation is registered inside the admin gate.
        if isinstance(inner := getattr(handler, "handler", handler), ConversationHandler)
        and inner.name == "facts"
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
    chat = curator(running)
    preview = await chat.send(
        f"/addfact agreement | Pipes allowed | The text may hold a | as well | {SOURCE_ID}"
    )
    assert "pipes-allowed" in preview.text
    await decide(chat, preview, "✅ Confirm")
    fact = await stored(running, "pipes-allowed")
    assert fact is not None
    assert fact.text == "The text may hold a | as well"


async def test_a_web_address_as_source_makes_a_new_source(running: Running) -> None:
    chat = curator(running)
    url = "https://www.jinr.ru/posts/new-working-group/"
    preview = await chat.send(f"/addfact agreement | Working group | A text. | {url}")
    assert "A new source will be added: jinr-ru-posts-new-working-group" in preview.text
    assert "cited on 2026-11-25" in preview.text
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
    # The page's own date is unknown; 12:00 UTC is 17:00 in Almaty, the configured zone, so
    # it was cited the same day.
    assert (source.published, source.cited) == (None, date(2026, 11, 25))
    assert fact.source_id == source.id
    assert await changes(running) == 2


@both_ways
async def test_a_repeated_title_gets_a_numbered_id(running: Running) -> None:
    chat = curator(running)
    line = f"/addfact agreement | Agreement of intent signed | Again. | {SOURCE_ID}"
    preview = await chat.send(line)
    assert "agreement-of-intent-signed" in preview.text
    await decide(chat, preview, "✅ Confirm")
    second = await chat.send(line)
    assert "agreement-of-intent-signed-2" in second.text


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/addfact agreement | A title | A text", "needs four parts"),
        (f"/addfact agreemnt | A title | A text | {SOURCE_ID}", "one of: agreement"),
        (f"/addfact agreement |   | A text | {SOURCE_ID}", "The title is empty"),
        (f"/addfact agreement | {'t' * 201} | A text | {SOURCE_ID}", "201 characters long"),
        (f"/addfact agreement | A title | {'x' * 2001} | {SOURCE_ID}", "at most 2000"),
        ("/addfact agreement | A title | A text | jinr-2023-agreement", f"one of: {SOURCE_ID}"),
        ("/addfact agreement | A title | A text | https://", "not a web address"),
        ("/editfact", "Write the fact's id"),
        ("/editfact no-such-fact", "There is no fact “no-such-fact”"),
        ("/editfact agreement-signd title = T", "Did you mean: agreement-signed"),
        ("/editfact agreement-signed colour = red", "There is no field “colour”"),
        ("/editfact agreement-signed title =  ", "The title is empty"),
        ("/editfact agreement-signed topic = nowhere", "There is no topic “nowhere”"),
        ("/editfact agreement-signed title = An agreement of intent", "nothing to change"),
        ("/delfact", "Write one fact id"),
        ("/delfact one two", "Write one fact id"),
        ("/restore no-such-fact", "There is no fact"),
        ("/restore agreement-signed", "is not deleted"),
    ],
)
async def test_bad_input_is_explained_and_writes_nothing(
    running: Running, command: str, expected: str
) -> None:
    answer = await curator(running).send(command)
    assert expected in answer.text
    assert not answer.buttons
    assert await changes(running) == 0


async def test_a_bad_answer_in_a_step_is_asked_again(running: Running) -> None:
    chat = curator(running)
    asked = await chat.send("/addfact")
    unknown = await chat.send("agreemnt")
    assert "one of: agreement" in unknown.text
    await chat.send("agreement")
    too_long = await chat.send("t" * 201)
    assert "keep it to at most 200" in too_long.text
    asked_text = await chat.send("A fine title")
    assert "Step 3 of 4" in asked_text.text
    assert asked.message_id < asked_text.message_id
    assert await changes(running) == 0


async def test_markup_in_admin_text_is_shown_and_kept_literally(running: Running) -> None:
    chat = curator(running)
    title = "<b>Bold</b> & <i unbalanced"
    text = 'Tags <a href="x">stay</a> as typed & so do &amp; entities'
    preview = await chat.send(f"/addfact agreement | {title} | {text} | {SOURCE_ID}")
    assert f"{title}\n{text}" in preview.text
    await decide(chat, preview, "✅ Confirm")
    fact = await stored(running, "b-bold-b-i-unbalanced")
    assert fact is not None
    assert (fact.title, fact.text) == (title, text)
    assert not [call for call in running.emulator.calls if call.error]


async def test_control_characters_are_removed(running: Running) -> None:
    chat = curator(running)
    preview = await chat.send(
        f"/addfact agreement | Bell\x07 and\tnul\x00 | One\r\nTwo\x1b[0m | {SOURCE_ID}"
    )
    await decide(chat, preview, "✅ Confirm")
    fact = await stored(running, "bell-and-nul")
    assert fact is not None
    assert (fact.title, fact.text) == ("Bell and nul", "One\nTwo[0m")


async def test_a_preview_over_telegrams_limit_is_split(running: Running) -> None:
    chat = curator(running)
    # 2000 ampersands are 10,000 characters of HTML: the preview needs several messages.
    chat.emulator.skip_unread(chat.chat)
    chat.say(f"/addfact agreement | Ampersands | {'&' * 2000} | {SOURCE_ID}")
    parts = [await chat.next_message()]
    while not parts[-1].buttons:
        parts.append(await chat.next_message())
    assert len(parts) >= 3, "each part under the limit, the buttons on the last"
    sends = running.emulator.calls_to("sendMessage")
    assert all(len(str(call.params["text"])) <= 4096 for call in sends)
    await decide(chat, parts[-1], "✅ Confirm")
    fact = await stored(running, "ampersands")
    assert fact is not None
    assert fact.text == "&" * 2000


async def test_editfact_shows_the_fields_and_saves_a_confirmed_change(running: Running) -> None:
    chat = curator(running)
    fields = await chat.send("/editfact agreement-signed")
    assert "title = An agreement of intent" in fields.text
    assert "/editfact agreement-signed field = new value" in fields.text
    preview = await chat.send("/editfact agreement-signed title = The agreement is signed")
    assert "Before: An agreement of intent\nAfter: The agreement is signed" in preview.text
    assert await changes(running) == 0
    done = await decide(chat, preview, "✅ Confirm")
    assert "Saved the new title of agreement-signed" in done.text
    fact = await stored(running, "agreement-signed")
    assert fact is not None
    assert (fact.title, fact.version, fact.origin) == ("The agreement is signed", 2, "admin")
    page = await running.chat(1001).send("/facts agreement")
    assert "The agreement is signed" in page.text


async def test_editfact_moves_a_fact_to_another_topic(running: Running) -> None:
    chat = curator(running)
    preview = await chat.send("/editfact agreement-signed topic = Next steps")
    assert "Before: agreement\nAfter: next-steps" in preview.text
    await decide(chat, preview, "✅ Confirm")
    fact = await stored(running, "agreement-signed")
    assert fact is not None
    assert fact.topic == "next-steps"


async def test_a_second_admins_edit_is_not_overwritten(running: Running) -> None:
    first, second = curator(running), curator(running, OTHER_ADMIN)
    first_preview = await first.send("/editfact agreement-signed title = First's title")
    second_preview = await second.send("/editfact agreement-signed title = Second's title")
    await decide(second, second_preview, "✅ Confirm")
    refused = await decide(first, first_preview, "✅ Confirm")
    assert (
        f"after you were shown agreement-signed, Curator (id {OTHER_ADMIN}) changed it at "
        "2026-11-25 17:00 Asia/Almaty. Nothing was overwritten." in refused.text
    )
    assert "title = Second's title" in refused.text, "the current version is shown"
    fact = await stored(running, "agreement-signed")
    assert fact is not None
    assert fact.title == "Second's title"
    assert await changes(running) == 1


@both_ways
async def test_delete_hides_a_fact_and_restore_brings_it_back(running: Running) -> None:
    chat, reader = curator(running), running.chat(1001)
    deleted = await chat.send("/delfact agreement-signed")
    assert "Deleted agreement-signed" in deleted.text
    assert "An agreement of intent" not in (await reader.send("/facts agreement")).text
    assert "An agreement of intent" not in (await reader.send("/search agreement")).text
    assert "already deleted" in (await chat.send("/delfact agreement-signed")).text
    assert (
        "is deleted. Restore it first"
        in (await chat.send("/editfact agreement-signed title = X")).text
    )
    assert (
        "(deleted: /restore brings it back)"
        in (await chat.send("/editfact agreement-signed")).text
    )
    restored = await chat.send("/restore agreement-signed")
    assert "Restored agreement-signed" in restored.text
    assert "An agreement of intent" in (await reader.send("/facts agreement")).text
    assert "An agreement of intent" in (await reader.send("/search agreement")).text
    async with running.sessions() as session:
        actions = (await session.scalars(select(Change.action).order_by(Change.id))).all()
    assert actions == ["delete", "restore"]


async def test_an_outdated_preview_is_not_saved(running: Running) -> None:
    chat = curator(running)
    old = await chat.send(f"/addfact agreement | Old draft | Text. | {SOURCE_ID}")
    await chat.send(f"/addfact agreement | New draft | Text. | {SOURCE_ID}")
    update_id = running.emulator.press_button(old, "✅ Confirm", chat.user)
    answer = await running.emulator.wait_for_callback_answer(update_id)
    assert answer.text is not None
    assert "outdated" in answer.text
    assert await changes(running) == 0


async def test_a_step_button_left_from_an_older_draft_changes_nothing(running: Running) -> None:
    chat = curator(running)
    older = await chat.send("/addfact")
    newer = await chat.send("/addfact")
    stale = running.emulator.press_button(older, TOPIC_TITLE, chat.user)
    answer = await running.emulator.wait_for_callback_answer(stale)
    assert answer.show_alert
    assert "outdated" in (answer.text or "")
    running.emulator.press_button(newer, TOPIC_TITLE, chat.user)
    # A chat's updates are handled in order: the first answer after both presses is the newer
    # one's, so the stale one said nothing in the chat and took no step.
    asked_title = await chat.next_message()
    assert "Step 2 of 4" in asked_title.text


# Admin input at its worst: markup, broken markup, entities, controls, emoji, huge strings.
NASTY = st.sampled_from(
    [
        *("<b>", "</i>", "<a href='x'>", "<", ">", "&", "&amp;", "&#", "\x00", "\x1b", "\r\n"),
        *("🇰🇿", "👩\u200d🔬", "x" * 10_000, "|", "=", " "),
    ]
)
PIECE = st.lists(st.one_of(NASTY, NASTY, st.text(max_size=12)), min_size=1, max_size=3).map(
    "".join
)
# Mostly well-formed around the nasty parts, so that most inputs get as far as a preview.
KNOWN_TOPIC = st.sampled_from(["agreement", "Next steps"])
TOPIC = st.one_of(KNOWN_TOPIC, KNOWN_TOPIC, KNOWN_TOPIC, PIECE)
KNOWN_SOURCE = st.sampled_from([SOURCE_ID, "https://example.org/a&b<c>"])
SOURCE = st.one_of(KNOWN_SOURCE, KNOWN_SOURCE, KNOWN_SOURCE, PIECE)
ONE_LINE = st.tuples(TOPIC, PIECE, PIECE, SOURCE).map(
    lambda parts: "/addfact {} | {} | {} | {}".format(*parts)
)
EDIT = st.tuples(
    st.sampled_from(["agreement-signed", "agreement-purpose"]),
    st.sampled_from(["title", "text", "topic", "source"]),
    PIECE,
).map(lambda parts: "/editfact {} {} = {}".format(*parts))
COMMANDS = st.one_of(ONE_LINE, ONE_LINE, EDIT, PIECE.map(lambda rest: f"/addfact {rest}"))
FINAL = ("✖️ Cancelled: nothing was changed.", "Nothing to cancel: no draft is under way.")


@hypothesis_settings(
    max_examples=50,
    deadline=None,
    # One bot for the whole property: the fixture is meant to outlive the examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(command=COMMANDS, confirm=st.booleans())
async def test_nasty_admin_input_never_breaks_the_bot_nor_half_writes(
    running: Running, caplog: pytest.LogCaptureFixture, command: str, confirm: bool
) -> None:
    chat = curator(running)
    calls_before, changes_before = len(running.emulator.calls), await changes(running)
    chat.emulator.skip_unread(chat.chat)
    chat.say(command)
    replies = await answers_before(chat, "/help", lambda text: "For curators" in text)
    previews = [reply for reply in replies if "✅ Confirm" in reply.button_labels]
    event("previewed" if previews else "refused")
    if confirm and previews:
        await chat.press(previews[-1], "✅ Confirm")
    replies += await answers_before(chat, "/cancel", lambda text: text in FINAL)
    calls = running.emulator.calls[calls_before:]
    assert not [call for call in calls if call.error], "Telegram accepted every message"
    for call in calls:
        assert len(str(call.params.get("text", ""))) <= 4096
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [m for m in replies if "Something went wrong" in m.text]
    written = await changes(running) - changes_before
    if not (confirm and previews):
        assert written == 0, "nothing is written without Confirm"
        return
    async with running.sessions() as session:
        latest = (await session.scalars(select(Change).order_by(Change.id.desc()))).first()
    assert latest is not None
    # A fact with its new source, or one fact, or nothing (an edit another one overtook).
    assert written in (0, 1, 2)
    if written:
        fact = await stored(running, latest.item_id)
        assert fact is not None
        assert latest.kind == "fact"
        assert 0 < len(fact.title) <= 200
        assert 0 < len(fact.text) <= 2000
