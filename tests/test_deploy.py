"""The container image and the systemd unit, as far as this machine can run them: Docker may not
run here, so the image's own command and health check are run as plain processes."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from pathlib import Path

import yaml

from bot.emulator import BotApiEmulator
from bot.settings import load_settings
from tests.conftest import TEST_TOKEN, closed_port

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
CONTAINER_CONFIG = ROOT / "deploy" / "container.toml"
UNIT = ROOT / "deploy" / "coopbot.service"
COMPOSE = ROOT / "compose.yaml"
# As Docker and systemd wait after SIGTERM before they kill.
STOP_GRACE = 10.0


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text("utf-8"))
    found = []
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def instruction(name: str) -> str:
    [value] = [rest for word, rest in instructions() if word == name]
    return value


def test_the_image_runs_as_a_user_of_its_own_with_its_data_on_a_volume() -> None:
    assert instruction("FROM").startswith("python:3.11-slim")
    assert instruction("USER") == "coopbot"
    assert json.loads(instruction("VOLUME")) == ["/data"]
    assert "COOPBOT_DATA=/data" in instruction("ENV")
    copied = [rest for word, rest in instructions() if word == "COPY"]
    for needed in ("content", "storage", "bot", "deploy/container.toml"):
        assert any(rest.startswith(needed) for rest in copied), needed


def test_the_images_config_is_valid_and_serves_health_on_its_exposed_port() -> None:
    settings = load_settings(CONTAINER_CONFIG, env={"COOPBOT_TOKEN": TEST_TOKEN})
    assert settings.ops_listen is not None
    assert str(settings.ops_listen.port) == instruction("EXPOSE")
    assert f":{settings.ops_listen.port}/healthz" in instruction("HEALTHCHECK")


def test_the_unit_does_not_restart_a_bad_config_and_waits_for_a_clean_stop() -> None:
    unit = UNIT.read_text("utf-8")
    assert "RestartPreventExitStatus=2" in unit
    assert re.search(r"^ExecStart=\S+/coopbot run$", unit, re.MULTILINE)
    assert "TimeoutStopSec=10" in unit
    assert "User=coopbot" in unit


async def test_the_images_command_and_health_check_run_as_plain_processes(
    tmp_path: Path,
) -> None:
    port = closed_port()
    async with BotApiEmulator(token=TEST_TOKEN) as emulator:
        config = tmp_path / "coopbot.toml"
        # The image's config, on a free loopback port, talking to the emulator.
        text = CONTAINER_CONFIG.read_text("utf-8").replace("0.0.0.0:9090", f"127.0.0.1:{port}")
        config.write_text(f'{text}\n[telegram]\nbase_url = "{emulator.base_url}"\n', "utf-8")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "COOPBOT_TOKEN": TEST_TOKEN,
            "COOPBOT_CONFIG": str(config),
            "COOPBOT_DATA": str(tmp_path / "data"),
        }
        command = json.loads(instruction("CMD"))
        assert command == ["coopbot", "run"]
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *command[1:], cwd=tmp_path, env=env
        )
        try:
            # Polling starts once the bot has started, its health server with it.
            await emulator.wait_for_call("getUpdates", timeout=20.0)
            check = json.loads(instruction("HEALTHCHECK").split("CMD", 1)[1])
            assert check[0] == "python"
            probe = [sys.executable, *check[1:]]
            probe[-1] = probe[-1].replace(":9090/", f":{port}/")
            healthy = await asyncio.create_subprocess_exec(*probe, env=env)
            assert await asyncio.wait_for(healthy.wait(), 10.0) == 0
        finally:
            bot.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(bot.wait(), STOP_GRACE)
        assert code == 0
        # The database was made on the volume.
        assert (tmp_path / "data" / "coopbot.db").is_file()
        # Once it has stopped, the health check fails, as Docker would see it.
        dead = await asyncio.create_subprocess_exec(
            *probe, env=env, stderr=asyncio.subprocess.DEVNULL
        )
        assert await asyncio.wait_for(dead.wait(), 10.0) != 0


def test_compose_runs_postgres_and_the_bot_in_webhook_mode_from_files_that_exist(
    tmp_path: Path,
) -> None:
    compose = yaml.safe_load(COMPOSE.read_text("utf-8"))
    db, bot = compose["services"]["db"], compose["services"]["coopbot"]
    assert db["image"] == "postgres:15"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    [volume] = db["volumes"]
    assert volume.split(":")[0] in compose["volumes"]
    assert (ROOT / bot["build"] / "Dockerfile").is_file()
    assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
    # The secrets come from .env, never from a file in the repository.
    env = bot["environment"]
    assert env["COOPBOT_TOKEN"].startswith("${COOPBOT_TOKEN")
    assert env["COOPBOT_WEBHOOK_SECRET"].startswith("${COOPBOT_WEBHOOK_SECRET")
    [mount] = bot["volumes"]
    source, target, _ = mount.split(":")
    assert env["COOPBOT_CONFIG"] == target
    config = ROOT / source
    assert config.is_file()
    settings = load_settings(
        config, env={"COOPBOT_TOKEN": TEST_TOKEN, "COOPBOT_WEBHOOK_SECRET": "s3cret"}
    )
    # The db service, by the user, password and database compose.yaml gives it.
    given = db["environment"]
    user, password, name = given["POSTGRES_USER"], given["POSTGRES_PASSWORD"], given["POSTGRES_DB"]
    assert settings.storage_url == f"postgresql+asyncpg://{user}:{password}@db/{name}"
    assert settings.webhook is not None
    assert settings.webhook.url.startswith("https://")
    # The health check asks the webhook's server, on the port compose publishes.
    port = settings.webhook.listen.port
    assert any(published.endswith(f":{port}:{port}") for published in bot["ports"])
    assert f":{port}/healthz" in " ".join(bot["healthcheck"]["test"])
