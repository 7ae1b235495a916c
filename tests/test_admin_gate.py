"""Who may write: every admin button of every flow, pressed by someone it was not shown to.

The admins first go through each flow up to its buttons (and leave the drafts waiting), so that
the buttons are the real ones, with their real tokens. Then someone else presses them, as a
client can forge a press: any data, from any user, on any message. Nothing is written but the
refusal, every press is answered, and the admins' own buttons still work afterwards.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.emulator import BotApiEmulator, ChatSession, SentMessage
from bot.settings import DEFAULT_CONTENT, Settings
from storage import curation
from storage.bot_models import Chat, Refusal, Subscription
from storage.models import Base, Fact
from tests.conftest import UNPACED, Running, answers_before, curator, started
from tests.helpers import IMPORTED_FACT
from tests.pages import PageServer

ADMIN, EDITOR, CURATOR, STRANGER = 4242, 4343, 4444, 777
SOURCE = "jinr-2023-10-04-agreement-of-intent"
SUBSCRIBER = 1001
# The kind of every admin button (its data's prefix and flow), flow by flow: facts (topic,
# source, decision), events, import, broadcast, revert, a source from a link, the week's post,
# a translation (language, field, origin, decision).
EVERY_KIND = {
    "dr:fact",
    "dr:event",
    "dr:import",
    "dr:bcast",
    "dr:revert",
    "dr:src",
    "dr:week",
    "dr:tr",
}
# Tables that note whom the bot met and whom it refused, and the updates in hand (the inbox):
# what a refused press may write.
NOTED = {"chats", "refusals", "inbox"}
PUBLIC_HELP = "/digest"
ADMIN_HELP = "For curators"


@dataclass(frozen=True)
class Shown:
    """A button as it is on an admin's screen."""

    chat_id: int
    message_id: int
    data: str

    @property
    def kind(self) -> str:
        return ":".join(self.data.split(":")[:2])


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings,
        admin_ids=frozenset({ADMIN, EDITOR, CURATOR}),
        limits=UNPACED,
        # /addsource reads the tests' page server; /thisweek has a channel to post to.
        fetch_loopback=True,
        digest=dataclasses.replace(settings.digest, channel_id=-100900),
    )


async def show_every_admin_button(running: Running, pages: PageServer) -> tuple[list[Shown], int]:
    """Take each admin flow up to its buttons and leave it waiting there; the buttons on the
    admins' screens, and the change that the revert preview offers to undo."""
    async with running.sessions.begin() as session:
        session.add(Chat(id=SUBSCRIBER, type="private", language="en"))
        await session.flush()
        session.add(Subscription(chat_id=SUBSCRIBER))
        fact = await curation.get(session, "fact", "agreement-purpose")
        change = await curation.edit(
            session,
            "fact",
            fact.id,
            {"title": "Renamed"},
            seen_version=fact.version,
            admin_id=ADMIN,
            now=running.clock.now(),
        )
        change_id = change.id
        # A later change: the revert preview goes back past it, as /revert may.
        await curation.edit(
            session,
            "fact",
            fact.id,
            {"text": "Rewritten"},
            seen_version=fact.version,
            admin_id=ADMIN,
            now=running.clock.now(),
        )
        # Something added this week, for /thisweek to offer to post.
        new_fact = {"id": "this-week", "topic": "agreement", "title": "New", "text": "New."}
        await curation.add(
            session,
            "fact",
            {**new_fact, "source_id": SOURCE},
            admin_id=ADMIN,
            now=running.clock.now(),
        )
    running.user(SUBSCRIBER)
    admin = curator(running)
    # First, as /translate is not begun while a fact draft waits for its typed answers.
    asked_language = await admin.send("/translate ibr-2")
    asked_field = await admin.press(asked_language, "Russian")
    await admin.press(asked_field, asked_field.buttons[0][0].text)
    asked_source = await admin.send("ИБР-2")
    translated = await admin.press(asked_source, "Our translation")
    assert "✅ Confirm" in translated.button_labels
    asked_topic = await admin.send("/addfact")
    await admin.press(asked_topic, "The agreement of intent")
    await admin.send("Working group formed")
    asked_source = await admin.send("The sides agreed to form a working group.")
    preview = await admin.press(asked_source, asked_source.buttons[0][0].text)
    assert "✅ Confirm" in preview.button_labels
    await admin.send(
        "/addevent winter-school | Winter school | 2026-12-05 17:00 Asia/Almaty | Almaty | "
        f"{SOURCE} | Lectures."
    )
    await admin.send("/editevent cp-session-2023 place = Elsewhere")
    await admin.send("/cancelevent cp-session-2023")
    facts = (DEFAULT_CONTENT / "facts.toml").read_text() + IMPORTED_FACT
    dry_run = await admin.send_document("facts.toml", facts.encode(), caption="/import")
    assert "Import" in dry_run.button_labels
    await admin.send("/broadcast Hello")
    await admin.next_message()
    await admin.send(f"/revert {change_id}")
    await admin.send(f"/addsource {pages.url('/english')}")
    await admin.send("/thisweek")
    await admin.next_message()
    # A second admin's draft of the same kind of flow, waiting in another chat.
    editor = running.chat(EDITOR, first_name="Editor")
    await editor.send("/editfact agreement-signed title = Renamed by the editor")
    shown = [
        Shown(message.chat_id, message.message_id, button.callback_data)
        for chat in (ADMIN, EDITOR)
        for message in running.emulator.messages(chat)
        for row in message.buttons
        for button in row
        if button.callback_data is not None
    ]
    assert {button.kind for button in shown} == EVERY_KIND
    return shown, change_id


async def rows(running: Running) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, but those that note whom the bot met and refused."""
    async with running.sessions() as session:
        return {
            table.name: [
                tuple(row)
                for row in await session.execute(
                    select(table).order_by(*table.primary_key.columns)
                )
            ]
            for table in Base.metadata.sorted_tables
            if table.name not in NOTED
        }


async def refusals(running: Running) -> Counter[tuple[int | None, int | None, str]]:
    """Attempts counted, by who, where and what."""
    async with running.sessions() as session:
        found = await session.scalars(select(Refusal))
        return Counter({(r.user_id, r.chat_id, r.command): r.count for r in found})


async def nothing_said_before(chat: ChatSession, marker: str, answer_says: str) -> None:
    """A chat's updates are handled in order: nothing the bot sends before its answer to
    `marker` means it sent nothing for what came before."""
    seen = await answers_before(chat, marker, lambda text: answer_says in text)
    assert [message.text for message in seen[:-1]] == []


def refused(answer_text: str | None) -> bool:
    return "for the bot's curators only" in (answer_text or "")


async def test_a_stranger_pressing_every_admin_button_writes_nothing_and_is_counted(
    running: Running, pages: PageServer
) -> None:
    shown, change_id = await show_every_admin_button(running, pages)
    emulator = running.emulator
    stranger = running.chat(STRANGER, first_name="Stranger")
    admin = curator(running)
    editor = running.chat(EDITOR, first_name="Editor")
    for chat in (stranger, admin, editor):
        emulator.skip_unread(chat.chat)
    before = await rows(running)

    presses = []
    for button in shown:
        # In the stranger's own chat, and on the very message the admin was shown.
        presses.append(emulator.press_data(STRANGER, STRANGER, button.data))
        presses.append(
            emulator.press_data(
                button.chat_id, STRANGER, button.data, message_id=button.message_id
            )
        )
    answers = [await emulator.wait_for_callback_answer(press) for press in presses]

    await nothing_said_before(stranger, "/help", PUBLIC_HELP)
    await nothing_said_before(admin, "/help", ADMIN_HELP)
    await nothing_said_before(editor, "/help", ADMIN_HELP)
    assert [a for a in answers if not (a.show_alert and refused(a.text))] == []
    assert await rows(running) == before
    expected: Counter[tuple[int | None, int | None, str]] = Counter()
    for button in shown:
        expected[(STRANGER, STRANGER, f"button {button.kind}")] += 1
        expected[(STRANGER, button.chat_id, f"button {button.kind}")] += 1
    assert await refusals(running) == expected

    # The admin's own buttons still work: the refusals took no draft away.
    [preview] = [m for m in emulator.messages(ADMIN) if "Undo it" in m.button_labels]
    done = await admin.press(preview, "Undo it")
    assert f"change #{change_id}" in done.text
    async with running.sessions() as session:
        fact = await session.get_one(Fact, "agreement-purpose")
    assert fact.title != "Renamed"
    assert fact.text != "Rewritten", "the later change is undone too"


async def test_an_admin_removed_from_the_list_has_no_working_buttons_after_a_restart(
    emulator: BotApiEmulator,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: ManualClock,
    pages: PageServer,
) -> None:
    async with started(emulator, settings, sessions, clock) as running:
        shown, change_id = await show_every_admin_button(running, pages)
    # ADMIN and EDITOR are no longer curators; the bot starts again on the same database.
    removed = dataclasses.replace(settings, admin_ids=frozenset({CURATOR}))
    async with started(emulator, removed, sessions, clock) as running:
        admin = curator(running)
        editor = running.chat(EDITOR, first_name="Editor")
        for chat in (admin, editor):
            emulator.skip_unread(chat.chat)
        before = await rows(running)
        presses = [
            emulator.press_data(
                button.chat_id, button.chat_id, button.data, message_id=button.message_id
            )
            for button in shown
        ]
        answers = [await emulator.wait_for_callback_answer(press) for press in presses]
        await nothing_said_before(admin, "/help", PUBLIC_HELP)
        await nothing_said_before(editor, "/help", PUBLIC_HELP)
        again = await admin.send(f"/revert {change_id}")

        assert [a for a in answers if not (a.show_alert and refused(a.text))] == []
        assert refused(again.text)
        assert await rows(running) == before
        expected = Counter(
            (button.chat_id, button.chat_id, f"button {button.kind}") for button in shown
        )
        expected[(ADMIN, ADMIN, "/revert")] += 1
        assert await refusals(running) == expected


async def test_another_admin_pressing_an_admins_buttons_finds_no_draft_and_writes_nothing(
    running: Running, pages: PageServer
) -> None:
    shown, _ = await show_every_admin_button(running, pages)
    emulator = running.emulator
    third = running.chat(CURATOR, first_name="Third")
    admin = curator(running)
    # A message of the curator's own, for the presses in their chat to be on.
    own = await third.send("/help")
    emulator.skip_unread(admin.chat)
    before = await rows(running)

    presses = []
    for button in shown:
        presses.append(
            emulator.press_data(CURATOR, CURATOR, button.data, message_id=own.message_id)
        )
        presses.append(
            emulator.press_data(button.chat_id, CURATOR, button.data, message_id=button.message_id)
        )
    for press in presses:
        await emulator.wait_for_callback_answer(press)
    await nothing_said_before(admin, "/help", ADMIN_HELP)

    assert await rows(running) == before
    assert await refusals(running) == Counter(), "an admin is not refused, only not let in"
    assert _untouched(emulator.messages(ADMIN), shown)


def _untouched(messages: list[SentMessage], shown: list[Shown]) -> bool:
    """The admin's buttons are all still on their screen."""
    on_screen = {
        (message.message_id, button.callback_data)
        for message in messages
        for row in message.buttons
        for button in row
    }
    return all(
        (button.message_id, button.data) in on_screen
        for button in shown
        if button.chat_id == ADMIN
    )
