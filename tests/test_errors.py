"""An unexpected error: the user is told politely, the admins are told what failed."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from telegram import Update
from telegram.ext import CommandHandler

from bot.context import Context
from bot.settings import Settings
from tests.conftest import ADMIN, TEST_TOKEN, Running, until_handled


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, admin_ids=frozenset({ADMIN}))


async def _fail(update: Update, context: Context) -> None:
    raise RuntimeError(f"request to /bot{TEST_TOKEN}/getMe failed <badly>")


@pytest.fixture
def failing(running: Running) -> Running:
    running.app.add_handler(CommandHandler("boom", _fail), group=-10)
    return running


async def test_the_admins_get_the_update_the_error_and_its_traceback(failing: Running) -> None:
    admin = failing.chat(ADMIN, first_name="Curator")
    await admin.send("/start")
    user = failing.chat(1001)
    answer = await user.send("/boom now")
    assert answer.text.startswith("⚠️ Something went wrong on my side.")
    report = await admin.next_message()
    assert report.text.startswith("🛠 An update failed")
    assert "chat 1001, user 1001: '/boom now'" in report.text
    assert "RuntimeError: request to /bot<token>/getMe failed <badly>" in report.text
    assert 'in _fail\n    raise RuntimeError(f"request to' in report.text, "the traceback"
    assert TEST_TOKEN not in report.text
    assert TEST_TOKEN.split(":")[1] not in report.html
    assert "&lt;badly&gt;" in report.html, "the error's text is escaped"


async def test_a_burst_of_errors_makes_one_report_a_minute(failing: Running) -> None:
    admin = failing.chat(ADMIN, first_name="Curator")
    await admin.send("/start")
    user = failing.chat(1001)
    for _ in range(3):
        await until_handled(failing, user.say("/boom"))
    failing.clock.advance(timedelta(minutes=1))
    await until_handled(failing, user.say("/boom"))
    reports = [
        message.text
        for message in failing.emulator.history(ADMIN)
        if message.text.startswith("🛠 An update failed")
    ]
    assert len(reports) == 2, [report.splitlines()[1] for report in reports]
    assert "2 more errors since the last report." in reports[1]
