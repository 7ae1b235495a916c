"""The message catalog: English complete, every id the code uses present, fallback to English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.admins import ADMIN_COMMANDS
from bot.commands import PUBLIC_COMMANDS
from bot.texts import catalog, texts_for

ROOT = Path(__file__).parent.parent
# t("id", ...) and texts(update)("id"): the two ways code asks for a message.
LITERAL_ID = re.compile(r"""(?:\bt|\))\(\s*"([a-z_]+\.[a-z_.]+)\"""")


def used_ids() -> set[str]:
    """Every literal message id the handlers and bot modules pass to a Texts object."""
    ids: set[str] = set()
    for path in [*ROOT.glob("bot/*.py"), *ROOT.glob("handlers/*.py")]:
        ids.update(LITERAL_ID.findall(path.read_text(encoding="utf-8")))
    ids.update(f"command.{name}" for name in PUBLIC_COMMANDS)
    for name in ADMIN_COMMANDS:
        ids.update({f"admin_command.{name}", f"admin_help.{name}"})
    ids.update({"delegation.side.kazakhstan", "delegation.side.jinr"})
    return ids


def test_english_has_every_message_the_code_uses() -> None:
    missing = used_ids() - set(catalog("en"))
    assert not missing


def test_english_has_no_message_the_code_never_uses() -> None:
    unused = set(catalog("en")) - used_ids()
    assert not unused


@pytest.mark.parametrize("language", ["de", "pt-br", "../../etc", None])
def test_an_unknown_language_falls_back_to_english(language: str | None) -> None:
    t = texts_for(language)
    assert t.language == "en"
    assert t("button.next") == "Next ›"


def test_command_descriptions_fit_telegrams_limit() -> None:
    t = texts_for("en")
    for name in PUBLIC_COMMANDS:
        assert 3 <= len(t(f"command.{name}")) <= 256
    for name in ADMIN_COMMANDS:
        assert 3 <= len(t(f"admin_command.{name}")) <= 256


def test_a_missing_id_is_a_loud_error() -> None:
    with pytest.raises(KeyError, match="no message"):
        texts_for("en")("no.such.message")
