"""The message catalog: English complete, every id the code uses present, fallback to English."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.curation.admins import ADMIN_COMMANDS
from bot.curation.content import AGREEMENT_KINDS, KINDS, SIDES
from bot.telegram.menus import PUBLIC_COMMANDS
from bot.texts import LOCALES, available_languages, catalog, shorten, texts_for

# No database: run on the SQLite pass only (tests/conftest.py).
pytestmark = pytest.mark.no_database

ROOT = Path(__file__).parent.parent
# t("id", ...), texts(update)("id") and context.texts("id"): the ways code asks for a message.
LITERAL_ID = re.compile(r"""(?:\bt|\)|\.texts)\(\s*"([a-z_]+\.[a-z_.]+)\"""")
FIELD = re.compile(r"\{(\w+)\}")
TAG = re.compile(r"<(/?[a-zA-Z]+)\b[^>]*>")
ENGLISH = LOCALES / "en" / "LC_MESSAGES"
# Which English catalogs each translation must cover in full: Russian all of them, Kazakh
# (added separately) the public texts, once its folder exists.
COVERED = {"ru": ("*.po",), "kk": ("coopbot.po",)}


def used_ids() -> set[str]:
    """Every literal message id the handlers and bot modules pass to a Texts object."""
    ids: set[str] = set()
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/*.py")]:
        ids.update(LITERAL_ID.findall(path.read_text(encoding="utf-8")))
    ids.update(f"command.{name}" for name in PUBLIC_COMMANDS)
    for name in ADMIN_COMMANDS:
        ids.update({f"admin_command.{name}", f"admin_help.{name}"})
    ids.update(f"delegation.side.{side}" for side in SIDES)
    ids.update(f"count.{kind.table}" for kind in KINDS)
    ids.update(f"agreement.kind.{kind.replace(' ', '_')}" for kind in AGREEMENT_KINDS)
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


@pytest.mark.parametrize("language", sorted(available_languages()))
def test_command_descriptions_fit_telegrams_limit(language: str) -> None:
    t = texts_for(language)
    for name in PUBLIC_COMMANDS:
        assert 3 <= len(t(f"command.{name}")) <= 256
    for name in ADMIN_COMMANDS:
        assert 3 <= len(t(f"admin_command.{name}")) <= 256


@pytest.mark.parametrize("language", sorted(available_languages()))
def test_the_bots_descriptions_fit_telegrams_limits(language: str) -> None:
    t = texts_for(language)
    assert 3 <= len(t("bot.description")) <= 512
    assert 3 <= len(t("bot.short_description")) <= 120


@pytest.mark.parametrize("language", sorted(available_languages()))
def test_every_alert_fits_telegrams_limit(language: str) -> None:
    """A press's answer shown as an alert holds at most 200 characters."""
    t = texts_for(language)
    for key in ("drafts.gone", "admin.refused_press", "fallback.button", "search.hit_gone"):
        assert len(t(key)) <= 200, key
    assert len(t("admin.private_only_press", bot="x" * 32)) <= 200


def test_a_missing_id_is_a_loud_error() -> None:
    with pytest.raises(KeyError, match="no message"):
        texts_for("en")("no.such.message")


@pytest.mark.parametrize(
    ("count", "expected"), [(0, "0 people"), (1, "1 person"), (2, "2 people"), (21, "21 people")]
)
def test_a_count_takes_the_plural_form_of_its_number(count: int, expected: str) -> None:
    assert texts_for("en")("count.people", count=count) == expected


def test_no_message_hedges_a_plural_with_s_in_brackets() -> None:
    """ "1 sources" and "7 problem(s)" are what a count without plural forms looks like."""
    hedged = [
        key
        for key, message in catalog("en").items()
        if any("(s)" in form for form in message.forms)
    ]
    assert not hedged


def test_a_plural_message_without_a_count_is_a_loud_error() -> None:
    with pytest.raises(TypeError, match="count"):
        texts_for("en")("count.facts")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Short enough", "Short enough"),
        ("Assembly shop of the Baikal-GVD Neutrino Telescope", "Assembly shop of the…"),
        ("Directions of cooperation, and more", "Directions of…"),
        ("https://www.jinr.ru/posts/a-very-long-address/", "https://www.jinr.ru/p…"),
    ],
)
def test_a_long_text_is_cut_at_a_word_with_an_ellipsis(text: str, expected: str) -> None:
    assert shorten(text, 22) == expected


def ids_in(path: Path) -> set[str]:
    """The message ids of one .po file, read as bot.texts reads them."""
    with path.open("rb") as file:
        messages = read_po(file, locale="en")
    return {str(m.id[0] if isinstance(m.id, tuple | list) else m.id) for m in messages if m.id}


def test_each_translation_has_every_message_of_the_english_catalogs_it_covers() -> None:
    """Russian translates every English catalog, each in a file of the same name; Kazakh,
    where its folder exists, the public one (coopbot.po)."""
    missing: dict[str, set[str]] = {}
    for language, patterns in COVERED.items():
        folder = LOCALES / language / "LC_MESSAGES"
        if language != "ru" and not folder.is_dir():
            continue  # not added yet: nothing of it to check
        for path in sorted(p for pattern in patterns for p in ENGLISH.glob(pattern)):
            assert (folder / path.name).is_file(), f"{language} has no {path.name}"
            lacking = ids_in(path) - set(catalog(language))
            if lacking:
                missing[f"{language}/{path.name}"] = lacking
    assert not missing
    assert texts_for("ru").language == "ru"


def fields(text: str) -> set[str]:
    return set(FIELD.findall(text))


def tags(text: str) -> Counter[str]:
    return Counter(name.lower() for name in TAG.findall(text))


@pytest.mark.parametrize("language", [name for name in available_languages() if name != "en"])
def test_a_translation_keeps_the_fields_and_tags_of_its_english_message(language: str) -> None:
    """Every form of a translated message has the English one's {fields}, no more and no
    fewer, and as many of each HTML tag (opening and closing alike)."""
    english = catalog("en")
    wrong: list[str] = []
    for key, message in catalog(language).items():
        if key not in english:
            wrong.append(f"{key}: not an English message")
            continue
        original = english[key].forms
        expected_fields = set().union(*(fields(form) for form in original))
        expected_tags = tags(original[0])
        if len(original) > 1 and len(message.forms) < 2:
            wrong.append(f"{key}: one form for a message with a count")
        for number, form in enumerate(message.forms):
            if fields(form) != expected_fields:
                wrong.append(f"{key}[{number}]: fields {sorted(fields(form))}")
            if tags(form) != expected_tags:
                wrong.append(f"{key}[{number}]: tags {dict(tags(form))}")
    assert not wrong
