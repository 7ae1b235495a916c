"""Webhook mode: the bot listens, Telegram (the emulator) pushes each update with the secret
header, and the bot keeps it in the inbox before answering 200; everything over real HTTP."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import ManualClock
from bot.emulator import BotApiEmulator
from bot.settings import Settings
from bot.telegram.intake import ALLOWED_UPDATES
from bot.webhook.receiver import MAX_BODY, SECRET_HEADER
from storage.bot_models import Inbox
from tests.conftest import TEST_WEBHOOK_SECRET, Running, started, until_handled


@pytest.fixture
def updates_by() -> str:
    """`running` here is always by webhook, whatever the suite's way."""
    return "webhook"


def webhook_url(running: Running) -> str:
    assert running.settings.webhook is not None
    return running.settings.webhook.url


async def post(
    running: Running,
    body: bytes | Any,
    *,
    secret: str | None = TEST_WEBHOOK_SECRET,
    headers: dict[str, str] | None = None,
) -> int:
    """POST to the bot's webhook as Telegram would (or would not): the status it answers."""
    sent = dict(headers or {})
    if secret is not None:
        sent[SECRET_HEADER] = secret
    data = io.BytesIO(body if isinstance(body, bytes) else json.dumps(body).encode())
    async with (
        aiohttp.ClientSession() as session,
        session.post(webhook_url(running), data=data, headers=sent) as response,
    ):
        return response.status


def message(running: Running, update_id: int, text: str, user_id: int = 1001) -> dict[str, Any]:
    """An update as Telegram would push it: a text message in a user's private chat."""
    user = running.user(user_id)
    entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": user.id, "type": "private", "first_name": user.first_name},
            "from": user.to_json(),
            "text": text,
            "entities": entities if text.startswith("/") else [],
        },
    }


async def kept(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessions() as session:
        return list(await session.scalars(select(Inbox.update_id)))


# Far above the emulator's ids (which start at 1): a test's own pushes never meet them.
OWN_IDS = 10_000


async def test_start_sets_the_webhook_with_the_secret_kinds_and_connections(
    running: Running,
) -> None:
    call = await running.emulator.wait_for_call("setWebhook")
    assert call.params["url"] == webhook_url(running)
    assert call.params["secret_token"] == TEST_WEBHOOK_SECRET
    assert call.params["allowed_updates"] == list(ALLOWED_UPDATES)
    assert str(call.params["max_connections"]) == "40"
    assert not running.emulator.calls_to("getUpdates")
    # And the bot answers what the emulator pushes.
    reply = await running.chat().send("/help")
    assert "/about" in reply.text


async def test_a_push_without_the_right_secret_is_refused_and_never_answered(
    running: Running,
) -> None:
    chat = running.chat()
    for secret in (None, "wrong", TEST_WEBHOOK_SECRET[:-1], TEST_WEBHOOK_SECRET + "x"):
        assert await post(running, message(running, OWN_IDS, "/help"), secret=secret) == 403
    assert await kept(running.sessions) == []
    # The positive control, in the same chat, after: a chat's updates are handled in order, so
    # had the refused /help been taken, its answer would come first.
    assert await post(running, message(running, OWN_IDS + 1, "/about")) == 200
    reply = await chat.next_message()
    assert reply.text == (await running.chat(1002).send("/about")).text
    assert len(running.emulator.history(chat.chat)) == 1


async def test_the_emulator_retries_a_refused_push_and_it_is_handled_once(
    running: Running,
) -> None:
    emulator = running.emulator
    await emulator.wait_for_call("setWebhook")
    emulator.webhooks.override_secret("rotated-elsewhere")
    chat = running.chat()
    update_id = chat.say("/help")
    # Telegram tries again after each error answer; the bot queues nothing meanwhile.
    first = await emulator.webhooks.wait_for_attempt(update_id, status=403)
    after = emulator.webhooks.attempts.index(first) + 1
    await emulator.webhooks.wait_for_attempt(update_id, status=403, after=after)
    assert emulator.history(chat.chat) == []
    assert await kept(running.sessions) == []
    emulator.webhooks.restore_secret()
    await until_handled(running, update_id)
    assert "/about" in (await chat.next_message()).text
    statuses = [a.status for a in emulator.webhooks.attempts if a.update_id == update_id]
    assert statuses.count(403) >= 2
    assert statuses[-1] == 200
    assert len(emulator.history(chat.chat)) == 1


async def test_an_update_pushed_again_is_handled_once(running: Running) -> None:
    chat = running.chat()
    update = message(running, OWN_IDS, "/help")
    # Telegram pushes an update again when it did not hear the 200: while it is in hand, once
    # handled, and once forgotten from the inbox.
    assert await post(running, update) == 200
    assert await post(running, update) == 200
    await chat.next_message()
    await running.app.bot_data.intake.settled()
    assert await post(running, update) == 200
    control = message(running, OWN_IDS + 1, "/about")
    assert await post(running, control) == 200
    await running.app.bot_data.intake.settled()
    assert await post(running, update) == 200
    assert await post(running, message(running, OWN_IDS + 2, "/about")) == 200
    # The control's answer and the second /about's: the /help came once.
    await chat.next_message()
    await chat.next_message()
    texts = [sent.text for sent in running.emulator.history(chat.chat)]
    assert len(texts) == 3
    assert texts[1] == texts[2] != texts[0]


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"x" * (MAX_BODY + 1), {}),
        (b"not json", {}),
        (b"[1, 2]", {}),
        (b'{"message": {}}', {}),
        (b'{"update_id": "7"}', {}),
        (b'{"update_id": true}', {}),
    ],
    ids=["oversize", "not-json", "not-an-object", "no-update-id", "string-id", "bool-id"],
)
async def test_a_body_that_is_not_an_update_is_a_400(
    running: Running, body: bytes, headers: dict[str, str]
) -> None:
    assert await post(running, body, headers=headers) == 400
    assert await kept(running.sessions) == []


async def test_a_chunked_oversize_body_is_a_400_too(running: Running) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_BODY // 65536 + 2):
            yield b" " * 65536

    headers = {SECRET_HEADER: TEST_WEBHOOK_SECRET}
    async with (
        aiohttp.ClientSession() as session,
        session.post(webhook_url(running), data=chunks(), headers=headers) as response,
    ):
        assert response.status == 400
        assert "Content-Length" not in response.request_info.headers


async def test_only_post_is_served_on_the_webhook_path(running: Running) -> None:
    async with aiohttp.ClientSession() as session:
        for method in ("GET", "PUT", "DELETE"):
            async with session.request(method, webhook_url(running)) as response:
                assert response.status == 405, method


async def test_health_and_metrics_are_on_the_webhook_server(running: Running) -> None:
    await running.emulator.wait_for_call("setWebhook")
    assert running.settings.webhook is not None
    base = f"http://{running.settings.webhook.listen}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/healthz") as response:
            assert (response.status, await response.text()) == (200, "ok\n")
        async with session.get(f"{base}/readyz") as response:
            assert (response.status, await response.text()) == (200, "ready\n")
        async with session.get(f"{base}/metrics") as response:
            assert "coopbot_bot_api_calls_total" in await response.text()


async def test_readiness_needs_a_bot_api_answer_within_the_minute_in_webhook_mode(
    running: Running, clock: ManualClock
) -> None:
    from datetime import timedelta

    from bot.ops.health import failed_checks

    await running.emulator.wait_for_call("setWebhook")
    assert await failed_checks(running.app.bot_data) == []
    clock.advance(timedelta(minutes=2))
    failed = await failed_checks(running.app.bot_data)
    assert any(line.startswith("telegram:") for line in failed)


async def test_switching_back_to_polling_deletes_the_webhook_and_keeps_its_updates(
    emulator: BotApiEmulator,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    async with started(emulator, settings, sessions, clock, updates_by="webhook"):
        await emulator.wait_for_call("setWebhook")
    # Telegram holds what comes while the bot is down, for whoever asks next.
    chat = emulator.private_chat(emulator.user(1001, "Aigerim"))
    update_id = chat.say("/help")
    await emulator.webhooks.wait_for_attempt(update_id, delivered=False)
    async with started(emulator, settings, sessions, clock) as running:
        assert running.settings.webhook is None
        assert "/about" in (await chat.next_message()).text
    [deleted] = emulator.calls_to("deleteWebhook")
    assert deleted.params.get("drop_pending_updates") in (None, False)
    after = emulator.calls.index(deleted)
    assert all(call.method != "getUpdates" for call in emulator.calls[: after + 1][-5:])
    assert emulator.webhooks.hook is None
    assert len(emulator.history(chat.chat)) == 1
