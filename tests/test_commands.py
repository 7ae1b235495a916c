"""Every public command and button, through the emulator over real HTTP with the real PTB stack."""

from __future__ import annotations

from tests.conftest import Running


async def test_start_welcomes_by_name_and_lists_the_commands(running: Running) -> None:
    reply = await running.chat(first_name="Aigerim <3").send("/start")
    assert reply.text.startswith("👋 Hello, Aigerim <3!")
    for command in ("/about", "/delegation", "/facilities", "/facts", "/events", "/next"):
        assert command in reply.text
