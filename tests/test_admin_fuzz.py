"""Admin input at its worst, across every admin command: markup, broken markup, entities,
control characters, emoji, 10,000-character strings. Whatever comes, the bot answers without an
error, Telegram accepts every message it sends, no message is over 4096 characters, and nothing
is written unless a button was pressed to confirm (then one change at most), but for /delfact and
/restore, which act at once since either undoes the other.

The fact commands have a fuzz of their own, with the guided conversation (test_admin_facts.py).
"""

from __future__ import annotations

import dataclasses
import logging

import pytest
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bot.settings import Settings
from tests.conftest import ADMIN, UNPACED, Running, answers_before, curator
from tests.helpers import changes

SOURCE_ID = "jinr-2023-10-04-agreement-of-intent"
EVENT_ID = "cp-session-2023"
# The buttons that write (or send, for the test broadcast) when pressed.
GO_BUTTONS = ("✅ Confirm", "Undo it", "🧪 Send a test to me")
SENTINEL = "For curators"
# Commands that write without a Confirm: soft delete and restore undo each other.
IMMEDIATE = ("/delfact ", "/restore ")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(
        settings,
        admin_ids=frozenset({ADMIN}),
        limits=UNPACED,
    )


NASTY = st.sampled_from(
    [
        *("<b>", "</i>", "<a href='x'>", "<", ">", "&", "&amp;", "&#", "\x00", "\x1b", "\r\n"),
        *("🇰🇿", "👩\u200d🔬", "x" * 10_000, "|", "=", " ", "-", "2027-03-01"),
    ]
)
PIECE = st.lists(st.one_of(NASTY, NASTY, st.text(max_size=12)), min_size=1, max_size=3).map(
    "".join
)
MOMENT = st.one_of(
    st.sampled_from(["2027-03-01 10:00 Asia/Almaty", "2027-03", "2027-03-02 Europe/Moscow"]),
    PIECE,
)
SOURCE = st.one_of(st.just(SOURCE_ID), st.just(SOURCE_ID), PIECE)
EVENT = st.one_of(st.just(EVENT_ID), st.just(EVENT_ID), PIECE)
ADD_EVENT = st.tuples(PIECE, PIECE, MOMENT, PIECE, SOURCE, PIECE).map(
    lambda parts: "/addevent {} | {} | {} | {} | {} | {}".format(*parts)
)
EDIT_EVENT = st.tuples(
    EVENT,
    st.sampled_from(["title", "description", "place", "start", "end", "source"]),
    st.one_of(PIECE, MOMENT),
).map(lambda parts: "/editevent {} {} = {}".format(*parts))
ANY_ARGUMENT = st.tuples(
    st.sampled_from(
        ["/cancelevent", "/editevent", "/history", "/revert", "/delfact", "/restore", "/editfact"]
    ),
    st.one_of(PIECE, st.sampled_from(["1", "agreement-signed", EVENT_ID, "99999999999999999999"])),
).map(" ".join)
COMMANDS = st.one_of(
    ADD_EVENT, EDIT_EVENT, PIECE.map(lambda text: f"/broadcast {text}"), ANY_ARGUMENT
)


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    # One bot for the whole property: the fixture is meant to outlive the examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(command=COMMANDS, press=st.booleans())
async def test_nasty_input_to_any_admin_command_never_breaks_the_bot_nor_half_writes(
    running: Running, caplog: pytest.LogCaptureFixture, command: str, press: bool
) -> None:
    chat = curator(running)
    calls_before, changes_before = len(running.emulator.calls), await changes(running)
    running.emulator.skip_unread(chat.chat)
    chat.say(command)
    replies = await answers_before(chat, "/help", lambda text: SENTINEL in text)
    offers = [
        (reply, label) for reply in replies for label in GO_BUTTONS if label in reply.button_labels
    ]
    event("offered a button" if offers else "answered")
    pressed = press and bool(offers)
    if pressed:
        reply, label = offers[-1]
        await chat.press(reply, label)
        replies += await answers_before(chat, "/help", lambda text: SENTINEL in text)

    calls = running.emulator.calls[calls_before:]
    assert not [call for call in calls if call.error], "Telegram accepted every message"
    for call in calls:
        assert len(str(call.params.get("text", ""))) <= 4096
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [m for m in replies if "Something went wrong" in m.text]
    written = await changes(running) - changes_before
    at_once = command.startswith(IMMEDIATE)
    assert written <= (1 if pressed or at_once else 0), "nothing unasked, one change at most"
