"""/broadcast through the emulator: preview, test, cancel, send once to each chat, live progress,
resume from the ledger in a fresh app, and a double press that sends nothing twice.

Sending limits are generous, as in tests/test_digests.py: pacing has its own tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import build_app, digest_engine
from bot.digest.progress import EVERY, EVERY_SENDS, Progress
from bot.digest.sends import in_flight
from bot.digest.ticker import digest_tick
from bot.emulator import ApiError, SentMessage
from bot.settings import Settings
from bot.texts import texts_for
from storage import digests
from storage.bot_models import Chat, Delivery, Digest
from storage.digests import BROADCAST, NewDigest, broadcast_key
from tests.conftest import ADMIN, UNPACED, Running, both_ways, curator
from tests.helpers import received, subscribe

SENT_TEXT = "📣 From the curators\n\n<b>Winter school</b> & more\nsee you"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings,
        admin_ids=frozenset({ADMIN}),
        limits=UNPACED,
    )


async def broadcasts(running: Running) -> list[Digest]:
    """Broadcast digests only: a tick also plans the digests that are due, if any."""
    async with running.sessions() as session:
        return list(await session.scalars(select(Digest).where(Digest.kind == "broadcast")))


async def until(running: Running, done: Callable[[SentMessage], bool]) -> SentMessage:
    """The admin's chat, message by message (edits too), until one is what we wait for."""
    while True:
        message = await running.emulator.wait_for_message(ADMIN)
        if done(message):
            return message


def finished(message: SentMessage) -> bool:
    return message.text.startswith("✅ Broadcast finished")


async def preview(running: Running) -> SentMessage:
    """The draft of SENT_TEXT's message, the one with the buttons."""
    admin = curator(running)
    await admin.send("/broadcast <b>Winter school</b> & more\nsee you")
    return await admin.next_message()


@both_ways
async def test_broadcast_alone_explains_the_form(running: Running) -> None:
    answer = await curator(running).send("/broadcast")
    assert "Write the message after the command" in answer.text
    assert "/broadcast The winter school opens" in answer.text
    assert await broadcasts(running) == []


async def test_someone_else_is_refused(running: Running) -> None:
    await subscribe(running, 1001)
    answer = await running.chat(777, first_name="Stranger").send("/broadcast hello")
    assert "curators only" in answer.text
    assert received(running, 1001) == []
    assert await broadcasts(running) == []


async def test_the_preview_shows_the_text_literally_with_the_count_and_buttons(
    running: Running,
) -> None:
    await subscribe(running, 1001, 1002)
    await subscribe(running, 1003, events=False, news=True)
    await subscribe(running, 1004, events=False, news=False)
    await subscribe(running, 1005, active=False)
    admin = curator(running)
    intro = await admin.send("/broadcast <b>Winter school</b> & more\nsee you")
    assert intro.text.startswith("👀 Preview.")
    assert "to every subscribed chat (now: 3)" in intro.text
    draft = await admin.next_message()
    assert draft.text == SENT_TEXT
    assert draft.entities[0]["type"] == "bold", "only the header is bold: the text is literal"
    assert draft.button_labels == [
        "🧪 Send a test to me",
        "📣 Send to all subscribers (3)",
        "✖️ Cancel",
    ]
    assert await broadcasts(running) == []


async def test_with_nobody_subscribed_there_is_no_send_button(running: Running) -> None:
    draft = await preview(running)
    assert "No chat is subscribed yet" in running.emulator.history(ADMIN)[-2].text
    assert draft.button_labels == ["🧪 Send a test to me", "✖️ Cancel"]


async def test_a_test_goes_to_the_admin_only(running: Running) -> None:
    await subscribe(running, 1001)
    draft = await preview(running)
    admin = curator(running)
    test = await admin.press(draft, "🧪 Send a test to me")
    assert test.text == SENT_TEXT
    assert not test.buttons
    answer = await running.emulator.wait_for_callback_answer(admin.presses[-1])
    assert answer.text == "Test sent to you only."
    assert received(running, 1001) == []
    assert await broadcasts(running) == []


async def test_cancel_sends_nothing_and_forgets_the_draft(running: Running) -> None:
    await subscribe(running, 1001)
    draft = await preview(running)
    admin = curator(running)
    cancelled = await admin.press(draft, "✖️ Cancel")
    assert cancelled.message_id == draft.message_id
    assert cancelled.text == texts_for("en")("drafts.cancelled")
    assert not cancelled.buttons
    assert received(running, 1001) == []
    assert await broadcasts(running) == []


async def test_sending_reaches_each_subscriber_once_and_reports_the_blocked(
    running: Running,
) -> None:
    await subscribe(running, 1001, 1002, 1003)
    running.emulator.block(1003)
    draft = await preview(running)
    admin = curator(running)
    progress = await admin.press(draft, "📣 Send to all subscribers (3)")
    assert progress.text == "📣 Broadcast: starting…"
    done = await until(running, finished)
    assert done.message_id == progress.message_id, "one progress message, edited"
    assert done.text == "✅ Broadcast finished\nSent 2 of 3 · failed 0 · blocked 1"
    assert received(running, 1001) == [SENT_TEXT]
    assert received(running, 1002) == [SENT_TEXT]
    assert not running.emulator.messages(ADMIN)[-2].buttons, "the preview loses its buttons"
    [digest] = await broadcasts(running)
    assert (digest.kind, digest.status, digest.admin_id) == ("broadcast", "done", ADMIN)
    escaped = "&lt;b&gt;Winter school&lt;/b&gt; &amp; more\nsee you"
    assert digest.text == f"📣 <b>From the curators</b>\n\n{escaped}"
    async with running.sessions() as session:
        blocked = await session.get(Chat, 1003)
        statuses = dict((await session.execute(select(Delivery.chat_id, Delivery.status))).all())
    assert blocked is not None
    assert not blocked.active
    assert statuses == {1001: "sent", 1002: "sent", 1003: "failed"}


async def test_a_long_text_goes_out_in_parts_as_previewed(running: Running) -> None:
    await subscribe(running, 1001)
    admin = curator(running)
    # Near Telegram's limit for the command itself; the header makes the message longer.
    text = ("<i>x</i> & " * 400)[:4080]
    await admin.send(f"/broadcast {text}")
    parts = [await admin.next_message()]
    while not parts[-1].buttons:
        parts.append(await admin.next_message())
    assert len(parts) > 1
    assert all(len(part.text) <= 4096 for part in parts)
    # Split where there was a space: every other character is there, as typed.
    shown = "".join("".join(part.text.split()) for part in parts)
    assert shown == "📣Fromthecurators" + "".join(text.split())
    await admin.press(parts[-1], "📣 Send to all subscribers (1)")
    await until(running, finished)
    assert received(running, 1001) == [part.text for part in parts]


async def test_a_double_press_sends_once(running: Running) -> None:
    await subscribe(running, 1001, 1002)
    draft = await preview(running)
    admin = curator(running)
    first = running.emulator.press_button(draft, "📣 Send to all subscribers (2)", admin.user)
    second = running.emulator.press_button(draft, "📣 Send to all subscribers (2)", admin.user)
    await until(running, finished)
    answer = await running.emulator.wait_for_callback_answer(second)
    assert answer.text == "This broadcast is already on its way; it goes to each chat once."
    assert (await running.emulator.wait_for_callback_answer(first)).text is None
    assert len(await broadcasts(running)) == 1
    assert received(running, 1001) == [SENT_TEXT]
    assert received(running, 1002) == [SENT_TEXT]


async def test_progress_is_shown_every_so_many_sends(running: Running) -> None:
    # A mark takes at most in_flight sends, so one shows midway, before the last.
    total = EVERY_SENDS + in_flight(running.app.bot_data.settings.limits)
    chats = range(2000, 2000 + total)
    await subscribe(running, *chats)
    draft = await preview(running)
    admin = curator(running)
    progress = await admin.press(draft, f"📣 Send to all subscribers ({total})")
    await until(running, finished)
    shown = [
        message.text.split("\n")[1]
        for message in running.emulator.history(ADMIN)
        if message.message_id == progress.message_id and message.edits
    ]
    # Sends are marked as they return, a few at a time: the first mark that reaches
    # EVERY_SENDS shows, with the numbers the ledger had then.
    midway, last = shown
    sent = int(midway.split()[1])
    assert EVERY_SENDS <= sent < total
    assert midway == (f"Sent {sent} of {total} · failed 0 · blocked 0 · remaining {total - sent}")
    assert last == f"Sent {total} of {total} · failed 0 · blocked 0"
    assert all(received(running, chat) == [SENT_TEXT] for chat in chats)


async def test_a_fresh_app_finishes_the_broadcast_and_edits_the_same_message(
    running: Running,
) -> None:
    await subscribe(running, 1001, 1002, 1003)
    # 1002's first two sends fail as a passing fault would: its delivery stays pending.
    running.emulator.fail("sendMessage", ApiError(502, "Bad Gateway"), times=2, chat_id=1002)
    draft = await preview(running)
    admin = curator(running)
    progress = await admin.press(draft, "📣 Send to all subscribers (3)")
    halfway = await until(running, lambda message: "remaining" in message.text)
    assert halfway.message_id == progress.message_id
    assert halfway.text.endswith("Sent 2 of 3 · failed 0 · blocked 0 · remaining 1")

    # A new process: nothing in memory, only the database and the same emulator.
    fresh = build_app(running.settings, running.sessions, clock=running.clock)
    async with fresh:
        edits = len(running.emulator.calls_to("editMessageText"))
        await digest_tick(digest_engine(fresh.bot_data), fresh.bot)
        # 1002 failed once more: the same numbers, which Telegram refuses to "edit" to.
        unchanged = running.emulator.calls_to("editMessageText")[edits:]
        [refused] = unchanged
        assert "message is not modified" in (refused.error or "")
        await digest_tick(digest_engine(fresh.bot_data), fresh.bot)
    done = await until(running, finished)
    assert done.message_id == progress.message_id
    assert done.text == "✅ Broadcast finished\nSent 3 of 3 · failed 0 · blocked 0"
    for chat_id in (1001, 1002, 1003):
        assert received(running, chat_id) == [SENT_TEXT]
    [digest] = await broadcasts(running)
    assert digest.status == "done"


async def test_progress_waits_two_seconds_of_the_clock_between_edits(running: Running) -> None:
    await subscribe(running, 1001)
    shown = await curator(running).send("/broadcast")
    now = running.clock.now()
    digest = NewDigest(
        key=broadcast_key("clock"),
        kind=BROADCAST,
        due_at=now,
        text="hello",
        progress_chat_id=ADMIN,
        progress_message_id=shown.message_id,
    )
    async with running.sessions.begin() as session:
        await digests.create(session, digest=digest, now=now)
        audience = digests.broadcast_audience()
        await digests.fill(
            session, digest_id=digest.key, audience=audience, channel_id=None, now=now
        )
        row = await session.get(Digest, digest.key)
    assert row is not None
    progress = Progress(digest_engine(running.app.bot_data), running.app.bot, row)
    await progress.sent(1)
    running.clock.advance(EVERY - timedelta(milliseconds=1))
    await progress.sent(1)
    assert running.emulator.calls_to("editMessageText") == []
    running.clock.advance(timedelta(milliseconds=1))
    await progress.sent(1)
    [edit] = running.emulator.calls_to("editMessageText")
    assert "remaining 1" in str(edit.params["text"])


async def test_a_preview_telegram_will_not_edit_still_sends_with_no_error(
    running: Running,
) -> None:
    await subscribe(running, 1001)
    draft = await preview(running)
    admin = curator(running)
    running.emulator.fail(
        "editMessageReplyMarkup", ApiError.bad_request("message can't be edited")
    )
    await admin.press(draft, "📣 Send to all subscribers (1)")
    await until(running, finished)
    assert received(running, 1001) == [SENT_TEXT]
    assert not [m for m in received(running, ADMIN) if "Something went wrong" in m]
