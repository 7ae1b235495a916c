"""What goes wrong in real chats: stale buttons, double taps, failures, chatter in groups."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.emulator import ApiError
from bot.settings import Settings
from bot.telegram.sightings import save as save_chats
from storage.db import create_engine
from tests.conftest import Running
from tests.helpers import FACILITY_PAGES


async def test_a_button_from_an_older_version_is_explained(running: Running) -> None:
    user = running.user()
    stale = InlineKeyboardMarkup([[InlineKeyboardButton("Old page", callback_data="old:7")]])
    await running.app.bot.send_message(user.id, "An old message", reply_markup=stale)
    message = await running.emulator.wait_for_message(user.id)
    update_id = running.emulator.press_button(message, "Old page", user)
    answer = await running.emulator.wait_for_callback_answer(update_id)
    assert answer.text is not None
    assert "older message" in answer.text
    assert answer.show_alert


async def test_a_double_tap_turns_the_page_once_and_answers_both(running: Running) -> None:
    user = running.user()
    chat = running.emulator.private_chat(user)
    page = await chat.send("/facilities")
    taps = [running.emulator.press_button(page, "Next ›", user) for _ in range(2)]
    for tap in taps:
        await running.emulator.wait_for_callback_answer(tap)
    turned = await chat.send("/help")  # anything after the taps: the bot has handled both
    assert "What I can do" in turned.text
    pages = [m for m in running.emulator.messages(user.id) if m.message_id == page.message_id]
    assert f"page 2 of {FACILITY_PAGES}" in pages[0].text
    sent = [m for m in running.emulator.history(user.id) if "Something went wrong" in m.text]
    assert sent == []


async def test_a_failure_is_logged_and_the_user_is_told(running: Running) -> None:
    chat = running.chat()
    running.emulator.fail("sendMessage", ApiError.bad_request("chat is being repaired"))
    reply = await chat.send("/about")
    assert "Something went wrong on my side" in reply.text
    assert "JINR and Kazakhstan" in (await chat.send("/about")).text


async def test_plain_text_in_a_group_gets_no_answer(running: Running) -> None:
    user = running.user()
    group = running.emulator.group(-100777, "Physics club")
    chat = running.emulator.group_chat(group, user)
    chat.say("good morning everyone")
    reply = await chat.send("/next@coop_test_bot")
    assert "Nothing is scheduled" in reply.text
    assert len(running.emulator.history(group.id)) == 1


async def test_chats_are_remembered_with_their_type(running: Running, settings: Settings) -> None:
    user = running.user()
    group = running.emulator.group(-100888, "Dubna group")
    await running.emulator.private_chat(user).send("/start")
    await running.emulator.group_chat(group, user).send("/help@coop_test_bot")
    await save_chats(running.app.bot_data)  # what the job does every second
    engine = create_engine(settings.storage_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.exec_driver_sql(
                "SELECT id, type, title FROM chats ORDER BY id"
            )
            assert [tuple(row) for row in rows] == [
                (-100888, "supergroup", "Dubna group"),
                (1001, "private", "Aigerim"),
            ]
    finally:
        await engine.dispose()


async def test_an_edit_by_another_process_shows_in_the_next_answer(
    running: Running, db_path: Path
) -> None:
    chat = running.chat()
    assert "Grigory Trubnikov — JINR Director" in (await chat.send("/delegation")).text
    with closing(sqlite3.connect(db_path)) as database, database:
        database.execute(
            "UPDATE roles SET role = 'Director of JINR' WHERE person_id = 'grigory-trubnikov'"
        )
    reply = await chat.send("/delegation")
    assert "Grigory Trubnikov — Director of JINR" in reply.text


async def test_a_chat_that_left_is_not_brought_back_by_a_stray_message(
    running: Running, db_path: Path
) -> None:
    chat = running.chat()
    await chat.send("/help")
    await save_chats(running.app.bot_data)
    with closing(sqlite3.connect(db_path)) as database, database:
        database.execute("UPDATE chats SET active = 0 WHERE id = 1001")
    running.app.bot_data.chats_seen.clear()  # as after an hour: the next message is noted again
    await chat.send("Govorun")
    await save_chats(running.app.bot_data)
    with closing(sqlite3.connect(db_path)) as database:
        (active,) = database.execute("SELECT active FROM chats WHERE id = 1001").fetchone()
    assert active == 0
    await chat.send("/start facilities")  # any /start, deep links included, says it is back
    await save_chats(running.app.bot_data)
    with closing(sqlite3.connect(db_path)) as database:
        (active,) = database.execute("SELECT active FROM chats WHERE id = 1001").fetchone()
    assert active == 1
