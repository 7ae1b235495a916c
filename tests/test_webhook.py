"""Webhook mode: the bot listens, Telegram (the emulator) pushes each update with the secret
header, and the bot keeps it in the inbox before answering 200; everything over real HTTP."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram.error import Conflict

from bot.cli import main
from bot.clock import ManualClock
from bot.emulator import BotApiEmulator
from bot.ops.health import failed_checks
from bot.ops.listen import Listen
from bot.settings import Settings, SettingsError, load_settings
from bot.telegram.intake import ALLOWED_UPDATES
from bot.webhook.receiver import MAX_BODY, SECRET_HEADER
from bot.webhook.settings import SECRET_ENV, SECRET_SHAPE
from storage.bot_models import Inbox
from tests.conftest import (
    TEST_TOKEN,
    TEST_WEBHOOK_SECRET,
    Running,
    closed_port,
    started,
    until_handled,
)
from tests.helpers import ROOT, config_file, start_bot


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


def webhook_config(tmp_path: Path, *lines: str) -> Path:
    body = "\n".join(('mode = "webhook"', *lines))
    return config_file(tmp_path, telegram=body)


GOOD_URL = 'webhook_url = "https://bot.example.org/telegram"'


def test_webhook_settings_are_read_and_the_environment_secret_wins(tmp_path: Path) -> None:
    path = webhook_config(
        tmp_path,
        GOOD_URL,
        'webhook_listen = "127.0.0.1:8443"',
        "max_connections = 7",
        'webhook_secret = "from-the-file"',
    )
    hook = load_settings(path, env={}).webhook
    assert hook is not None
    assert (hook.url, hook.path, hook.listen, hook.max_connections) == (
        "https://bot.example.org/telegram",
        "/telegram",
        Listen("127.0.0.1", 8443),
        7,
    )
    assert hook.secret.reveal() == "from-the-file"
    assert "from-the-file" not in repr(hook)
    hook = load_settings(path, env={SECRET_ENV: "from-the-env"}).webhook
    assert hook is not None
    assert hook.secret.reveal() == "from-the-env"
    # Polling is the default, and its webhook keys are then left alone.
    assert load_settings(config_file(tmp_path, telegram=GOOD_URL), env={}).webhook is None


@pytest.mark.parametrize(
    ("lines", "env", "names"),
    [
        ((GOOD_URL,), {}, "telegram.webhook_secret: webhook mode needs a secret"),
        (('webhook_secret = "s"',), {}, "telegram.webhook_url: webhook mode needs"),
        ((GOOD_URL, 'webhook_secret = "has space"'), {}, "telegram.webhook_secret: a secret"),
        ((GOOD_URL, f'webhook_secret = "{"x" * 257}"'), {}, "telegram.webhook_secret: a secret"),
        ((GOOD_URL,), {SECRET_ENV: "bad/secret"}, "COOPBOT_WEBHOOK_SECRET: a secret"),
        (('webhook_url = "http://bot.example.org/t"',), {SECRET_ENV: "s"}, "must be https"),
        (('webhook_url = "https://bot.example.org:9000/t"',), {SECRET_ENV: "s"}, "only to ports"),
        (('webhook_url = "https://bot.example.org/healthz"',), {SECRET_ENV: "s"}, "health"),
        (('webhook_url = "bot.example.org"',), {SECRET_ENV: "s"}, "is not a URL"),
        ((GOOD_URL, "max_connections = 101"), {SECRET_ENV: "s"}, "from 1 to 100"),
        ((GOOD_URL, "max_connections = 0"), {SECRET_ENV: "s"}, "from 1 to 100"),
        ((GOOD_URL, 'webhook_listen = "nowhere"'), {SECRET_ENV: "s"}, "webhook_listen"),
    ],
)
def test_a_bad_webhook_setting_is_a_one_line_error(
    tmp_path: Path, lines: tuple[str, ...], env: dict[str, str], names: str
) -> None:
    with pytest.raises(SettingsError, match=re.escape(names)) as caught:
        load_settings(webhook_config(tmp_path, *lines), env=env)
    assert "\n" not in str(caught.value)
    assert "bad/secret" not in str(caught.value)
    assert "has space" not in str(caught.value)


def test_an_unknown_mode_and_ops_listen_beside_a_webhook_are_refused(tmp_path: Path) -> None:
    path = config_file(tmp_path, telegram='mode = "push"')
    with pytest.raises(SettingsError, match=r"telegram\.mode: 'push' is not one of polling"):
        load_settings(path, env={})
    path = config_file(
        tmp_path, telegram=f'mode = "webhook"\n{GOOD_URL}', ops='listen = "127.0.0.1:9090"'
    )
    with pytest.raises(SettingsError, match=r"ops\.listen: in webhook mode"):
        load_settings(path, env={SECRET_ENV: "s"})


def test_coopbot_run_exits_2_on_a_missing_secret(tmp_path: Path) -> None:
    path = webhook_config(tmp_path, GOOD_URL)
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(path)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith("coopbot: telegram.webhook_secret:")
    assert len(done.stderr.strip().splitlines()) == 1


def test_coopbot_webhook_secret_prints_a_fresh_valid_secret(
    capsys: pytest.CaptureFixture[str],
) -> None:
    printed = []
    for _ in range(2):
        assert main(["webhook-secret"]) == 0
        printed.append(capsys.readouterr().out)
    first, second = (text.strip() for text in printed)
    assert printed[0] == first + "\n"
    assert SECRET_SHAPE.fullmatch(first)
    assert len(first) >= 32
    assert first != second


async def test_coopbot_run_in_webhook_mode_answers_then_stops_on_sigterm_within_5_s(
    tmp_path: Path,
) -> None:
    port = closed_port()
    log = tmp_path / "bot.log"
    async with BotApiEmulator(token=TEST_TOKEN) as emulator:
        path = webhook_config(
            tmp_path,
            f'base_url = "{emulator.base_url}"',
            f'webhook_url = "http://127.0.0.1:{port}/telegram"',
            f'webhook_listen = "127.0.0.1:{port}"',
            f'webhook_secret = "{TEST_WEBHOOK_SECRET}"',
        )
        bot = await start_bot(path, log)
        try:
            await emulator.wait_for_call("setWebhook", timeout=30.0)
            chat = emulator.private_chat(emulator.user(1001, "Aigerim"))
            assert "/about" in (await chat.send("/help")).text
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/healthz") as response,
            ):
                assert response.status == 200
        finally:
            bot.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(bot.wait(), 5.0)
        assert code == 0
        # The webhook stays set: Telegram keeps what comes for the next start.
        assert not emulator.calls_to("deleteWebhook")
    text = log.read_text("utf-8")
    assert "Telegram pushes updates to" in text
    assert TEST_WEBHOOK_SECRET not in text
    assert TEST_TOKEN.split(":")[1] not in text


async def test_an_update_answered_200_is_kept_first_and_handled_after_a_restart(
    emulator: BotApiEmulator,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    clock: ManualClock,
) -> None:
    emulator.hold("sendMessage")
    async with started(emulator, settings, sessions, clock, updates_by="webhook") as running:
        chat = running.chat()
        assert await post(running, message(running, OWN_IDS, "/help")) == 200
        # Kept before the 200: a crash from here on loses nothing.
        assert await kept(sessions) == [OWN_IDS]
        await emulator.wait_for_held("sendMessage", 1)
    # The stop cut the answer short; the inbox still has the update.
    await emulator.wait_for_held("sendMessage", 0)
    assert await kept(sessions) == [OWN_IDS]
    emulator.release("sendMessage")
    async with started(emulator, settings, sessions, clock, updates_by="webhook") as running:
        assert "/about" in (await chat.next_message()).text
        await running.app.bot_data.intake.settled()
    assert await kept(sessions) == []
    assert len(emulator.history(chat.chat)) == 1


async def test_the_emulator_reports_the_webhook_and_refuses_get_updates_meanwhile(
    running: Running,
) -> None:
    bot = running.app.bot
    info = await bot.get_webhook_info()
    assert (info.url, info.max_connections, info.pending_update_count) == (
        webhook_url(running),
        40,
        0,
    )
    assert info.allowed_updates == ALLOWED_UPDATES
    assert info.last_error_date is None
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)
    running.emulator.webhooks.override_secret(None)
    update_id = running.chat().say("/help")
    await running.emulator.webhooks.wait_for_attempt(update_id, status=403)
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1
    assert info.last_error_message == "Wrong response from the webhook: 403"
    running.emulator.webhooks.restore_secret()
    await until_handled(running, update_id)
