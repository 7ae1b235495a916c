"""The gate: admins by numeric id only; everyone else refused politely, recorded, 0 writes."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.curation.admins import ADMIN_COMMANDS
from bot.settings import Settings
from storage.bot_models import Refusal
from storage.models import Change
from tests.conftest import ADMIN, DEFAULT_NOW, Running, both_ways, curator

ADMIN_USERNAME = "curator"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, admin_ids=frozenset({ADMIN}))


async def _counts(running: Running) -> tuple[int, int]:
    async with running.sessions() as session:
        refusals = await session.scalar(select(func.count()).select_from(Refusal))
        changes = await session.scalar(select(func.count()).select_from(Change))
    return refusals or 0, changes or 0


@pytest.mark.parametrize("command", ["/addfact agreement | T | Text | src", "/stats", "/export"])
async def test_someone_else_is_refused_and_only_the_attempt_is_written(
    running: Running, command: str
) -> None:
    answer = await running.chat(777, first_name="Stranger").send(command)
    assert "for the bot's curators only" in answer.text
    assert await _counts(running) == (1, 0)
    async with running.sessions() as session:
        refusal = (await session.scalars(select(Refusal))).one()
    assert (refusal.user_id, refusal.command) == (777, command.split()[0])


async def test_an_admins_username_is_not_enough(running: Running) -> None:
    """Usernames change hands: a user calling themselves the admin's name is still refused."""
    running.user(ADMIN, "Curator", username=ADMIN_USERNAME)
    impostor = running.chat(778, first_name="Curator", username=ADMIN_USERNAME)
    answer = await impostor.send("/delfact agreement-signed")
    assert "curators only" in answer.text
    assert await _counts(running) == (1, 0)


@both_ways
async def test_an_admin_command_in_a_group_points_to_the_private_chat(running: Running) -> None:
    admin = running.user(ADMIN, "Curator")
    group = running.emulator.group(-100123, admins=[admin])
    answer = await running.emulator.group_chat(group, admin).send("/stats")
    assert "private chat" in answer.text
    assert await _counts(running) == (0, 0)


@both_ways
async def test_admins_see_the_admin_help_and_others_do_not(running: Running) -> None:
    admin_help = await curator(running).send("/help")
    public_help = await running.chat(779).send("/help")
    assert "For curators" in admin_help.text
    assert "/addfact" in admin_help.text
    assert "/digest" in admin_help.text, "the admin help still has the public part"
    assert "For curators" not in public_help.text


async def test_the_admin_menu_is_set_in_the_admins_chat(running: Running) -> None:
    before = len(running.emulator.calls)
    await curator(running).send("/start")
    await running.emulator.wait_for_call("setMyCommands", after=before)
    scope = {"type": "chat", "chat_id": ADMIN}
    names = [name for name, _ in running.emulator.commands(scope)]
    assert set(ADMIN_COMMANDS) <= set(names)
    assert "next" in names
    assert "addfact" not in [name for name, _ in running.emulator.commands()]


async def test_repeated_refusals_are_one_row_per_minute_with_a_count(running: Running) -> None:
    stranger = running.chat(777, first_name="Stranger")
    running.clock.set(DEFAULT_NOW + timedelta(seconds=5))
    for command in ("/stats", "/STATS", "/stats@coop_test_bot now", "/export"):
        assert "curators only" in (await stranger.send(command)).text
    for data in (f"dr:revert:{'0' * 12}:ok", f"dr:revert:{'a' * 12}:no"):
        press = running.emulator.press_data(777, 777, data)
        answer = await running.emulator.wait_for_callback_answer(press)
        assert answer.show_alert
        assert "curators only" in (answer.text or "")
    running.clock.set(DEFAULT_NOW + timedelta(seconds=65))
    await stranger.send("/stats")
    async with running.sessions() as session:
        found = (await session.scalars(select(Refusal).order_by(Refusal.id))).all()
    minute = DEFAULT_NOW
    assert [(r.at, r.user_id, r.chat_id, r.command, r.count) for r in found] == [
        (minute, 777, 777, "/stats", 3),
        (minute, 777, 777, "/export", 1),
        (minute, 777, 777, "button dr:revert", 2),
        (minute + timedelta(minutes=1), 777, 777, "/stats", 1),
    ]


async def test_refusals_older_than_thirty_days_are_pruned(running: Running) -> None:
    now = running.clock.now()
    async with running.sessions.begin() as session:
        for days in (31, 29):
            at = now - timedelta(days=days)
            session.add(Refusal(at=at, user_id=days, chat_id=days, command="/stats", count=2))
    await running.chat(777, first_name="Stranger").send("/stats")
    async with running.sessions() as session:
        kept = (await session.scalars(select(Refusal.user_id).order_by(Refusal.at))).all()
    assert kept == [29, 777]


async def test_an_admin_pressing_outside_their_private_chat_is_pointed_there(
    running: Running,
) -> None:
    admin = running.user(ADMIN, "Curator")
    group = running.emulator.group(-100123, admins=[admin])
    await running.emulator.group_chat(group, admin).send("/help")
    press = running.emulator.press_data(group.id, admin, f"dr:revert:{'0' * 12}:ok")
    answer = await running.emulator.wait_for_callback_answer(press)
    assert answer.show_alert
    assert "only in your private chat" in (answer.text or "")
    assert await _counts(running) == (0, 0)
