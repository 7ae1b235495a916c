"""Courier.deliver puts on the wire what send_message would, and fails the same way."""

import pytest
from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import Forbidden
from telegram.ext import Defaults

from bot.emulator import BotApiEmulator
from bot.telegram.courier import Courier
from bot.telegram.transport import AiohttpRequest

TOKEN = "123456:TEST-TOKEN"
HTML = "<b>Reminder</b>: the session in <i>Almaty</i> &amp; Dubna"


def courier(emulator: BotApiEmulator) -> Courier:
    defaults = Defaults(
        parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
    )
    return Courier(TOKEN, base_url=emulator.base_url, request=AiohttpRequest(1), defaults=defaults)


async def test_deliver_sends_what_send_message_sends() -> None:
    async with BotApiEmulator(TOKEN) as emulator:
        first, second = emulator.user(7, "Aigerim"), emulator.user(8, "Dmitry")
        async with courier(emulator) as bot:
            await bot.send_message(first.id, HTML)
            await bot.deliver(second.id, HTML)
        sent, delivered = (call.params for call in emulator.calls_to("sendMessage"))
        (shown,) = emulator.messages(second.id)
    assert {k: v for k, v in sent.items() if k != "chat_id"} == {
        k: v for k, v in delivered.items() if k != "chat_id"
    }
    assert shown.text == "Reminder: the session in Almaty & Dubna"
    assert [entity["type"] for entity in shown.entities] == ["bold", "italic"]


async def test_deliver_to_a_chat_that_blocked_the_bot_raises_forbidden() -> None:
    async with BotApiEmulator(TOKEN) as emulator:
        user = emulator.user(7, "Aigerim")
        emulator.block(user.id)
        async with courier(emulator) as bot:
            with pytest.raises(Forbidden):
                await bot.deliver(user.id, HTML)
