"""/healthz, /readyz and /metrics over real HTTP, with the bot polling the emulator."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import sqlite3
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.emulator import ApiError, BotApiEmulator
from bot.ops.listen import Listen
from bot.settings import Settings, SettingsError, load_settings
from storage.db import head_revision
from tests.conftest import TEST_TOKEN, TEST_WEBHOOK_SECRET, Running, by_polling, closed_port
from tests.helpers import START, add_event, config_file, start_bot, subscribe, tick, tick_at


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """conftest's settings, serving health and metrics on a free loopback port."""
    return dataclasses.replace(settings, ops_listen=Listen("127.0.0.1", closed_port()))


async def fetch(running: Running, path: str) -> tuple[int, str]:
    """GET a path of the bot's ops server: the status and the body."""
    listen = running.settings.ops_listen
    assert listen is not None
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://{listen}{path}") as response,
    ):
        return response.status, await response.text()


async def a_poll_answered(running: Running) -> None:
    """Until a getUpdates that began after now has been answered: the next one has begun."""
    emulator = running.emulator
    after = len(emulator.calls)
    await emulator.wait_for_call("getUpdates", after=after)
    await emulator.wait_for_call("getUpdates", after=len(emulator.calls))


def samples(body: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Each sample of a Prometheus text body, by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def total(body: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(
        value
        for (sample, have), value in samples(body).items()
        if sample == name and wanted <= have
    )


async def test_healthz_answers_ok_while_the_bot_runs(running: Running) -> None:
    assert await fetch(running, "/healthz") == (200, "ok\n")


async def test_a_running_bot_is_ready(running: Running) -> None:
    assert await fetch(running, "/readyz") == (200, "ready\n")


@by_polling
async def test_not_ready_once_two_ticks_pass_without_a_tick(running: Running) -> None:
    every = running.settings.digest.tick
    running.clock.advance(2 * every + timedelta(seconds=1))
    status, body = await fetch(running, "/readyz")
    assert status == 503
    assert "digest: no tick within two ticks" in body
    await tick(running)
    await a_poll_answered(running)
    assert await fetch(running, "/readyz") == (200, "ready\n")


@by_polling
async def test_not_ready_when_the_bot_api_fails_for_over_a_minute(running: Running) -> None:
    emulator = running.emulator
    emulator.fail("getUpdates", ApiError(500, "Internal Server Error"), times=10**6)
    # The poll that was out when the fault went in has come back: every later one fails.
    await emulator.wait_for_call("getUpdates", after=len(emulator.calls))
    running.clock.advance(timedelta(seconds=59))
    await tick(running)
    assert (await fetch(running, "/readyz"))[0] == 200
    running.clock.advance(timedelta(seconds=2))
    await tick(running)
    status, body = await fetch(running, "/readyz")
    assert status == 503
    assert body == "telegram: no successful Bot API answer within the last minute\n"


async def test_not_ready_with_the_database_at_an_older_revision(
    running: Running, db_path: Path
) -> None:
    with sqlite3.connect(db_path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0016'")
    status, body = await fetch(running, "/readyz")
    assert status == 503
    assert body == f"migrations: the database is at 0016, not {head_revision()}\n"


async def test_metrics_count_commands_calls_and_deliveries_and_name_no_chat(
    running: Running,
) -> None:
    chat = running.chat(1001)
    await chat.send("/about")
    await subscribe(running, 1002)
    await add_event(running)
    await tick_at(running, START - timedelta(days=7))
    status, body = await fetch(running, "/metrics")
    assert status == 200
    assert total(body, "coopbot_updates_total", type="message") >= 1
    assert total(body, "coopbot_handler_calls_total", type="message") >= 1
    assert total(body, "coopbot_handler_seconds_count") >= 1
    assert total(body, "coopbot_bot_api_calls_total", method="getMe", result="ok") == 1
    assert total(body, "coopbot_bot_api_calls_total", method="sendMessage", result="ok") >= 2
    assert total(body, "coopbot_deliveries_total", kind="reminder", status="sent") == 1
    assert total(body, "coopbot_ledger_pending") == 0
    assert total(body, "coopbot_digest_lag_seconds") == 0
    assert total(body, "coopbot_pacing_queue") == 0
    label_values = {value for _, labels in samples(body) for _, value in labels}
    assert not label_values & {"1001", "1002", TEST_TOKEN, TEST_TOKEN.split(":")[0]}


async def test_metrics_tell_a_429_and_its_retry_after(running: Running) -> None:
    running.emulator.fail("sendMessage", ApiError(429, "Too Many Requests", retry_after=1))
    await running.chat(1001).send("/about")
    body = (await fetch(running, "/metrics"))[1]
    assert total(body, "coopbot_bot_api_calls_total", method="sendMessage", result="flood") == 1
    assert total(body, "coopbot_bot_api_retry_after_seconds_count") == 1
    assert total(body, "coopbot_bot_api_retry_after_seconds_sum") == 1


@pytest.mark.parametrize("value", ["9090", "localhost", "127.0.0.1:http", "127.0.0.1:70000", ""])
def test_a_bad_ops_listen_is_a_one_line_settings_error(tmp_path: Path, value: str) -> None:
    path = tmp_path / "coopbot.toml"
    path.write_text(f'[ops]\nlisten = "{value}"\n', "utf-8")
    with pytest.raises(SettingsError) as caught:
        load_settings(path, env={"COOPBOT_TOKEN": TEST_TOKEN})
    message = str(caught.value)
    assert (
        message == f"ops.listen: {value!r} is not a host:port to listen on (e.g. '127.0.0.1:9090')"
    )


def test_ops_listen_is_off_unless_set_and_read_when_set(tmp_path: Path) -> None:
    assert load_settings(env={"COOPBOT_TOKEN": TEST_TOKEN}).ops_listen is None
    path = tmp_path / "coopbot.toml"
    path.write_text('[ops]\nlisten = "[::1]:9091"\n', "utf-8")
    assert load_settings(path, env={}).ops_listen == Listen("::1", 9091)


def _listening_on(port: int, base_url: str, way: str) -> dict[str, str]:
    """The config's sections for a bot that serves on `port`: health and metrics on their own
    server, or beside the webhook."""
    telegram = f'base_url = "{base_url}"'
    if way == "ops":
        return {"telegram": telegram, "ops": f'listen = "127.0.0.1:{port}"'}
    webhook = (
        'mode = "webhook"',
        f'webhook_url = "http://127.0.0.1:{port}/telegram"',
        f'webhook_listen = "127.0.0.1:{port}"',
        f'webhook_secret = "{TEST_WEBHOOK_SECRET}"',
    )
    return {"telegram": "\n".join((telegram, *webhook))}


@pytest.mark.parametrize(
    ("way", "setting", "where"),
    [
        ("ops", "ops.listen: ", "[ops] listen"),
        ("webhook", "telegram.webhook_listen: ", "[telegram] webhook_listen"),
    ],
    ids=["ops", "webhook"],
)
async def test_an_address_in_use_stops_the_bot_with_one_line(
    tmp_path: Path, way: str, setting: str, where: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with BotApiEmulator(token=TEST_TOKEN) as emulator:
            bot = await start_bot(
                config_file(tmp_path, **_listening_on(port, emulator.base_url, way))
            )
            _, stderr = await asyncio.wait_for(bot.communicate(), 60.0)
    assert bot.returncode == 1
    said = stderr.decode()
    assert said.splitlines()[-1] == (
        f"coopbot: {setting}cannot listen on 127.0.0.1:{port} (Address already in use); "
        f"choose a free port, or this machine's address, in {where}"
    )
    assert "Traceback" not in said
