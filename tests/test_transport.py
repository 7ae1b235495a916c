"""The aiohttp request class under PTB's Bot: what reaches the server, and how failures surface."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from telegram import Bot, InputFile
from telegram.error import NetworkError, TimedOut

from bot.emulator import BotApiEmulator
from bot.telegram.transport import AiohttpRequest
from tests.conftest import closed_port

TOKEN = "123456:TEST-TOKEN"


def bot_on(base_url: str, request: AiohttpRequest) -> Bot:
    return Bot(TOKEN, base_url=base_url, request=request, get_updates_request=AiohttpRequest(1))


@asynccontextmanager
async def silent_server() -> AsyncIterator[tuple[str, asyncio.Event]]:
    """A server that accepts connections and never answers; the event is set on each accept."""
    accepted = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        accepted.set()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/bot", accepted
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_message_and_a_document_arrive_as_sent() -> None:
    async with BotApiEmulator(TOKEN) as emulator:
        user = emulator.user(7, "Aigerim")
        bot = bot_on(emulator.base_url, AiohttpRequest(2))
        async with bot:
            me = await bot.get_me()
            await bot.send_message(user.id, "<b>Almaty</b> &amp; Dubna", parse_mode="HTML")
            payload = InputFile(b"id,title\n1,JINR\n", filename="facts.csv")
            await bot.send_document(user.id, payload, caption="export")
        text, document = emulator.messages(user.id)
    assert me.username == emulator.bot.username
    assert text.text == "Almaty & Dubna"
    assert [e["type"] for e in text.entities] == ["bold"]
    assert document.document is not None
    assert document.document.filename == "facts.csv"
    assert document.document.content == b"id,title\n1,JINR\n"
    assert document.text == "export"


async def test_it_can_be_opened_again_after_a_shutdown() -> None:
    async with BotApiEmulator(TOKEN) as emulator:
        request = AiohttpRequest(1)
        for _ in range(2):
            async with bot_on(emulator.base_url, request) as bot:
                assert (await bot.get_me()).id == emulator.bot.id


async def test_a_server_that_does_not_answer_times_out() -> None:
    async with (
        silent_server() as (base_url, accepted),
        AiohttpRequest(1, read_timeout=0.2) as request,
    ):
        with pytest.raises(TimedOut):
            await request.post(f"{base_url}{TOKEN}/sendMessage")
    assert accepted.is_set()


async def test_a_full_pool_times_out_without_sending() -> None:
    request = AiohttpRequest(1, read_timeout=30, pool_timeout=0.1)
    async with silent_server() as (base_url, accepted), request:
        url = f"{base_url}{TOKEN}/sendMessage"
        first = asyncio.create_task(request.post(url))
        await asyncio.wait_for(accepted.wait(), 5)
        with pytest.raises(TimedOut, match="was not sent"):
            await request.post(url)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first


async def test_nobody_listening_is_a_network_error_naming_the_cause() -> None:
    async with AiohttpRequest(1) as request:
        with pytest.raises(NetworkError, match=r"aiohttp\.ClientConnectorError"):
            await request.post(f"http://127.0.0.1:{closed_port()}/bot{TOKEN}/getMe")


async def test_a_request_before_initialize_says_so() -> None:
    # PTB wraps what the request class raises, keeping its words.
    with pytest.raises(NetworkError, match="not initialized"):
        await AiohttpRequest(1).post(f"http://127.0.0.1:{closed_port()}/bot{TOKEN}/getMe")


async def test_a_proxy_from_the_environment_carries_the_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with BotApiEmulator(TOKEN) as emulator:
        # The emulator stands in for the proxy: a host that does not exist is reached through it.
        proxy = emulator.base_url.removesuffix("/bot")
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with AiohttpRequest(1) as request:
            me = await request.post(f"http://api.telegram.invalid/bot{TOKEN}/getMe")
        assert isinstance(me, dict)
        assert me["username"] == emulator.bot.username
        monkeypatch.setenv("NO_PROXY", "api.telegram.invalid")
        async with AiohttpRequest(1) as request:
            with pytest.raises(NetworkError):
                await request.post(f"http://api.telegram.invalid/bot{TOKEN}/getMe")
