"""Every admin flow that writes waits for Confirm the same way: the same buttons, the same
answer to Cancel, the same answer to a press on a preview that is no longer kept."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

import pytest

from bot.emulator import ChatSession, SentMessage
from bot.settings import DEFAULT_CONTENT, Settings
from bot.texts import texts_for
from storage.bot_models import Digest
from storage.models import Change
from tests.conftest import ADMIN, UNPACED, Running, curator
from tests.helpers import IMPORTED_FACT, count_of, subscribe

SOURCE = "jinr-2023-10-04-agreement-of-intent"
T = texts_for("en")
CANCEL = T("drafts.cancel")

Preview = Callable[[Running, ChatSession], Awaitable[SentMessage]]


async def fact(running: Running, admin: ChatSession) -> SentMessage:
    return await admin.send(f"/addfact agreement | A title | A text. | {SOURCE}")


async def event(running: Running, admin: ChatSession) -> SentMessage:
    return await admin.send("/editevent cp-session-2023 place = Elsewhere")


async def import_file(running: Running, admin: ChatSession) -> SentMessage:
    facts = (DEFAULT_CONTENT / "facts.toml").read_text() + IMPORTED_FACT
    return await admin.send_document("facts.toml", facts.encode(), caption="/import")


async def broadcast(running: Running, admin: ChatSession) -> SentMessage:
    await subscribe(running, 1001, events=True)
    await admin.send("/broadcast Hello")
    return await admin.next_message()


async def revert(running: Running, admin: ChatSession) -> SentMessage:
    edited = await admin.send("/editfact agreement-signed title = Renamed")
    await admin.press(edited, T("drafts.confirm"))
    return await admin.send("/revert 1")


FLOWS = [fact, event, import_file, broadcast, revert]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, admin_ids=frozenset({ADMIN}), limits=UNPACED)


async def written(running: Running) -> tuple[int, int]:
    """Changes recorded and digests written: what a confirmed draft would add to."""
    return await count_of(running, Change), await count_of(running, Digest)


@pytest.mark.parametrize("flow", FLOWS, ids=lambda flow: flow.__name__)
async def test_every_preview_ends_in_confirm_and_cancel(running: Running, flow: Preview) -> None:
    preview = await flow(running, curator(running))
    assert preview.button_labels[-1] == CANCEL
    assert len(preview.buttons[-1]) == 2, "Confirm sits beside Cancel"


@pytest.mark.parametrize("flow", FLOWS, ids=lambda flow: flow.__name__)
async def test_cancel_answers_alike_in_every_flow_and_writes_nothing(
    running: Running, flow: Preview
) -> None:
    admin = curator(running)
    preview = await flow(running, admin)
    before = await written(running)
    cancelled = await admin.press(preview, CANCEL)
    assert cancelled.message_id == preview.message_id
    assert cancelled.text == T("drafts.cancelled")
    assert not cancelled.buttons
    assert await written(running) == before


@pytest.mark.parametrize("flow", FLOWS, ids=lambda flow: flow.__name__)
async def test_a_preview_forgotten_by_a_restart_answers_alike_in_every_flow(
    running: Running, flow: Preview
) -> None:
    admin = curator(running)
    preview = await flow(running, admin)
    before = await written(running)
    running.app.user_data[ADMIN].drafts.clear()
    confirm = preview.buttons[-1][0].text
    answer = await admin.press_for_answer(preview, confirm)
    assert answer.show_alert
    assert answer.text == T("drafts.gone")
    assert await written(running) == before
