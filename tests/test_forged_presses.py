"""Every button the bot registers, pressed with forged data: numbers no page has, digits of
other scripts, messages that are gone or can no longer be edited. Each press is answered, and
none ends in the generic error.

The kinds come from the application's own registrations, so a new button is covered as soon as
it is registered.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import fields

import pytest
from telegram.ext import BaseHandler, CallbackQueryHandler, ConversationHandler

from bot.context import App
from bot.emulator import ApiError
from bot.settings import Settings
from bot.telegram.callbacks import CallbackData
from tests.conftest import ADMIN, UNPACED, Running, until_handled
from tests.helpers import FACILITY_PAGES, errors_logged

GONE = 999_999
HUGE = "9" * 25
# Arabic-Indic three: Python's \d and int() take it, Telegram's clients never send it.
FOREIGN_DIGIT = "\u0663"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, admin_ids=frozenset({ADMIN}), limits=UNPACED)


def _handlers(handler: object) -> Iterator[object]:
    """The handler and those inside it: the admin gate's, a conversation's steps."""
    yield handler
    inner = getattr(handler, "handler", None)
    if isinstance(inner, BaseHandler):
        yield from _handlers(inner)
    if isinstance(handler, ConversationHandler):
        steps = [step for steps in handler.states.values() for step in steps]
        for step in [*handler.entry_points, *steps, *handler.fallbacks]:
            yield from _handlers(step)


def button_kinds(app: App) -> list[type[CallbackData]]:
    """The kind of button data behind every pattern of every registered press handler."""
    patterns = {
        found.pattern.pattern
        for group in app.handlers.values()
        for handler in group
        for found in _handlers(handler)
        if isinstance(found, CallbackQueryHandler) and isinstance(found.pattern, re.Pattern)
    }
    # A kind's handlers may match only some of its data (a draft's buttons, flow by flow): a
    # pattern is of the kind whose prefix it requires.
    kinds = {kind.prefix: kind for kind in CallbackData.__subclasses__()}
    prefixes = {pattern.removeprefix("^").split(":")[0] for pattern in patterns}
    assert prefixes <= kinds.keys(), f"patterns of no CallbackData kind: {prefixes - kinds.keys()}"
    return [kinds[prefix] for prefix in sorted(prefixes)]


def well_formed(kind: type[CallbackData], **numbers: str) -> str:
    """Data of this kind: "1" for each number unless given, "x" for each other field."""
    values = [
        numbers.get(field.name, "1") if field.type in ("int", int) else "x"
        for field in fields(kind)  # type: ignore[arg-type]  # every kind is a dataclass
    ]
    return ":".join([kind.prefix, *values])


def forged(kind: type[CallbackData]) -> list[str]:
    """Each number of the kind too big, then in another script's digits."""
    numbers = [field.name for field in fields(kind) if field.type in ("int", int)]  # type: ignore[arg-type]  # every kind is a dataclass
    return [
        well_formed(kind, **{name: value}) for name in numbers for value in (HUGE, FOREIGN_DIGIT)
    ]


def generic_errors(running: Running) -> list[str]:
    return [m.text for m in running.emulator.history(ADMIN) if "Something went wrong" in m.text]


async def test_every_registered_button_is_of_a_known_kind(running: Running) -> None:
    kinds = button_kinds(running.app)
    assert {kind.prefix for kind in kinds} >= {"fl", "fc", "ft", "ev", "sr", "sb", "dr"}


async def test_forged_numbers_in_every_button_are_answered_without_an_error(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    chat = running.chat(ADMIN)
    await chat.send("/facilities")
    presses = [
        running.emulator.press_data(ADMIN, ADMIN, data)
        for kind in button_kinds(running.app)
        for data in forged(kind)
    ]
    assert presses
    for press in presses:
        await running.emulator.wait_for_callback_answer(press)
    await until_handled(running, presses[-1])
    assert generic_errors(running) == []
    assert errors_logged(caplog) == []


async def test_a_press_on_a_message_that_is_gone_is_answered_in_a_new_message(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    chat = running.chat(ADMIN)
    await chat.send("/facilities")
    presses = [
        running.emulator.press_data(ADMIN, ADMIN, well_formed(kind), message_id=GONE)
        for kind in button_kinds(running.app)
    ]
    for press in presses:
        await running.emulator.wait_for_callback_answer(press)
    await until_handled(running, presses[-1])
    assert generic_errors(running) == []
    assert errors_logged(caplog) == []
    pages = [
        m for m in running.emulator.messages(ADMIN) if f"page 2 of {FACILITY_PAGES}" in m.text
    ]
    # fl:1, the facilities' second page, and fc:x:1, whose facility is unknown: sent anew.
    assert len(pages) == 2


@pytest.mark.parametrize(
    "reason", ["message can't be edited", "MESSAGE_ID_INVALID", "message to edit not found"]
)
async def test_a_press_on_a_message_telegram_will_not_edit_gets_its_page_anew(
    running: Running, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    chat = running.chat(ADMIN)
    page = await chat.send("/facilities")
    running.emulator.fail("editMessageText", ApiError.bad_request(reason))
    turned = await chat.press(page, "Next ›")
    assert f"page 2 of {FACILITY_PAGES}" in turned.text
    assert turned.message_id != page.message_id
    assert generic_errors(running) == []
    assert errors_logged(caplog) == []
