"""Every public command answers a Russian or Kazakh reader in their language, through the
emulator: the catalogs' completeness is checked in tests/test_texts.py, this checks that the
code asks for them in the chat's language."""

from __future__ import annotations

import re

import pytest

from bot.telegram.menus import PUBLIC_COMMANDS
from tests.conftest import Running

CYRILLIC = re.compile("[\u0400-\u04ff]")
# Letters only Kazakh writes (schwa, ghayn, qaf, eng, barred o, straight u and u with stroke,
# shha, dotted i): a Kazakh answer is not a Russian one.
KAZAKH_ONLY = re.compile("[\u04d9\u0493\u049b\u04a3\u04e9\u04b1\u04af\u04bb\u0456]", re.IGNORECASE)


@pytest.mark.parametrize("language", ["ru", "kk"])
async def test_every_public_command_answers_in_the_readers_language(
    running: Running, language: str
) -> None:
    reader = running.chat(3001, first_name="Reader", language_code=language)
    english = running.chat(3002, first_name="Reader", language_code="en")
    for command in PUBLIC_COMMANDS:
        theirs = (await reader.send(f"/{command}")).text
        ours = (await english.send(f"/{command}")).text
        heading = theirs.split("\n")[0]
        assert theirs != ours, command
        assert CYRILLIC.search(heading), (command, heading)
        if language == "kk":
            assert KAZAKH_ONLY.search(theirs), (command, heading)
