"""The record in three languages: translations read, checked, synced, exported, shown field by
field in the reader's language (ours marked †), and written by curators from Telegram."""

from __future__ import annotations

import dataclasses
import shutil
import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.cli import main
from bot.curation.content import ContentError
from bot.curation.export import content_files, zipped
from bot.curation.loading import load_content
from bot.curation.translations import untranslated
from bot.digest import words
from bot.emulator import ChatSession, SentMessage
from bot.settings import DEFAULT_CONTENT, Settings
from bot.texts import texts_for
from storage import exports, knowledge
from storage.models import Change, Translation
from storage.sync import sync_content
from tests.conftest import ADMIN, UNPACED, Running, both_ways, curator
from tests.helpers import changes

RU_IBR2 = "Исследовательский реактор ИБР-2"
OURS_NOTE = {"ru": "† наш перевод", "kk": "† біздің аударма"}
STRANGER = 777


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, admin_ids=frozenset({ADMIN}), limits=UNPACED)


def reader(running: Running, language: str, user_id: int = 1001) -> ChatSession:
    return running.chat(user_id, language_code=language)


async def facility_card(chat: ChatSession, label: str) -> SentMessage:
    page = await chat.send("/facilities")
    return await chat.press(page, label)


async def test_facilities_in_russian_show_the_translation_marked_as_ours(
    running: Running,
) -> None:
    chat = reader(running, "ru")
    page = await chat.send("/facilities")
    assert RU_IBR2 in page.button_labels, "buttons show the words unmarked"
    card = await chat.press(page, RU_IBR2)
    assert f"🏛 {RU_IBR2}†" in card.text
    assert "ознакомилась с исследовательским реактором ИБР-2.†" in card.text
    assert card.text.endswith(OURS_NOTE["ru"]), "one note under the sources says what † means"
    assert card.text.count(OURS_NOTE["ru"]) == 1


async def test_a_field_without_a_translation_is_shown_in_english(running: Running) -> None:
    # Kazakh has the facilities' names, not yet their descriptions.
    card = await facility_card(reader(running, "kk"), "ИБР-2 зерттеу реакторы")
    assert "ИБР-2 зерттеу реакторы†" in card.text
    assert "The NAS RK delegation got acquainted with the IBR-2 Research Reactor." in card.text
    assert OURS_NOTE["kk"] in card.text
    # A name no Russian source spells, nor we with certainty, stays as English has it.
    who = await reader(running, "ru", 1002).send("/who Khozeuly")
    assert "👤 Yedil Khozeuly\n" in who.text


async def test_english_readers_see_the_curated_base_unmarked(running: Running) -> None:
    card = await facility_card(reader(running, "en"), "IBR-2 Research Reactor")
    assert "🏛 IBR-2 Research Reactor\n" in card.text
    assert "†" not in card.text


async def test_a_translation_in_a_sources_words_is_not_marked(running: Running) -> None:
    chat = reader(running, "ru")
    year = await chat.send("/timeline 2024")
    assert "Заседание КПП ОИЯИ" in year.button_labels
    assert "Заседание КПП ОИЯИ" in year.text
    assert "Заседание КПП ОИЯИ†" not in year.text
    card = await chat.press(year, "Заседание КПП ОИЯИ")
    assert card.text.startswith("Заседание КПП ОИЯИ\n"), "the title follows the source's words"
    assert "Дубна†" in card.text, "its place is ours"


async def test_every_answer_of_the_record_reads_in_russian(running: Running) -> None:
    chat = reader(running, "ru")
    about = await chat.send("/about")
    assert "Соглашение о намерениях между ОИЯИ и НАН РК†" in about.text
    delegation = await chat.send("/delegation")
    assert "Кунсулу Закарья† — президент правления НАН РК" in delegation.text
    agreements = await chat.send("/agreements")
    assert "(соглашение о намерениях)" in agreements.text, "kinds are the catalog's words"
    assert "ОИЯИ · Национальная академия наук Республики Казахстан" in agreements.text
    topics = await chat.send("/facts")
    assert "Соглашение о намерениях†" in topics.text
    assert topics.text.endswith(OURS_NOTE["ru"])
    facts = await chat.send("/facts Соглашение о намерениях")
    assert "Подписано во время визита НАН РК†" in facts.text
    who = await chat.send("/who Закарья")
    assert "👤 Кунсулу Закарья†" in who.text
    assert "президент правления НАН РК, глава делегации" in who.text
    # A role's body is named once, however the title declines it.
    sakhiyev = await chat.send("/who Сахиев")
    assert "полномочный представитель Правительства Казахстана в ОИЯИ†" in sakhiyev.text
    assert "Правительство Казахстана" not in sakhiyev.text


async def test_a_reminder_in_russian_tells_the_event_in_its_translation(
    running: Running,
) -> None:
    known = running.app.bot_data.knowledge
    event = known.event("nas-rk-visit-2023")
    assert event is not None
    text = words.reminder(
        texts_for("ru"),
        known,
        event,
        lead=timedelta(days=1),
        late_since=None,
        reader="Asia/Almaty",
    )
    assert "Визит делегации НАН РК в ОИЯИ†" in text
    assert text.endswith(OURS_NOTE["ru"])
    english = words.reminder(
        texts_for("en"),
        known,
        event,
        lead=timedelta(days=1),
        late_since=None,
        reader="Asia/Almaty",
    )
    assert "Visit of the NAS RK delegation to JINR" in english
    assert "†" not in english


def test_content_check_reports_what_each_language_lacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    records = load_content(DEFAULT_CONTENT)
    missing = {found.language: found for found in untranslated(records)}
    assert missing["ru"].missing == {"people": [("yedil-khozeuly", "name")]}
    assert missing["kk"].count == missing["kk"].total - 160
    assert main(["content", "check"]) == 0
    said = capsys.readouterr().out
    assert "ru: 501 of 502 fields translated; untranslated: people 1" in said
    assert "  people: yedil-khozeuly (name)" in said, "a short list is shown unasked"
    assert "kk: 160 of 502 fields translated; untranslated: facts 88," in said
    assert "--untranslated lists them" in said
    assert main(["content", "check", "--untranslated"]) == 0
    listed = capsys.readouterr().out
    assert "  facts: agreement-signed (text)," in listed


@pytest.fixture
def content(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    shutil.copytree(DEFAULT_CONTENT, folder)
    return folder


def problems(folder: Path) -> list[str]:
    with pytest.raises(ContentError) as raised:
        load_content(folder)
    return raised.value.problems


def test_a_wrong_translation_is_named_by_file_and_entry(content: Path) -> None:
    (content / "translations" / "ru.toml").write_text(
        """
[[facilities]]
id = "ibr-3"
source = "ours"
name = "ИБР-3"

[[facilities]]
id = "ibr-2"
source = "jinr-2023-10-04-agreement-of-intent"
nmae = "ИБР-2"
aliases = "ИБР"

[[events]]
id = "cp-session-2023"
source = "no-such-source"
title = "Сессия"

[[roles]]
id = "trubnikov-2023-10"
source = "ours"
organisation = "ОИЯИ; Дубна"

[[fact]]
id = "agreement-signed"
""",
        encoding="utf-8",
    )
    (content / "translations" / "de.toml").write_text("", encoding="utf-8")
    found = problems(content)
    assert found == [
        "translations/de.toml: unknown language 'de' (name the file after its language: "
        "ru.toml or kk.toml)",
        "translations/ru.toml: facilities 'ibr-3': no facility 'ibr-3' in facilities.toml "
        "(did you mean 'ibr-2'?)",
        "translations/ru.toml: facilities 'ibr-2' field 'source': "
        "'jinr-2023-10-04-agreement-of-intent' is in en, not in ru (cite a source in ru, or "
        'write source = "ours")',
        "translations/ru.toml: facilities 'ibr-2' field 'nmae': a facility has no such field "
        "(did you mean 'name'?)",
        "translations/ru.toml: facilities 'ibr-2' field 'aliases': not translated, it is the "
        "same in every language (name, description are)",
        "translations/ru.toml: events 'cp-session-2023' field 'source': unknown source "
        "'no-such-source' (source = \"ours\" for our own translation, or a source id in ru)",
        "translations/ru.toml: roles 'trubnikov-2023-10' field 'organisation': lists 2 where "
        'English lists 1 (translate each, "; "-separated, in order)',
        "translations/ru.toml: unknown kind of item 'fact' (did you mean [[facts]]?)",
    ]


def test_a_field_translated_twice_or_with_nothing_in_english_is_refused(content: Path) -> None:
    (content / "translations" / "kk.toml").write_text(
        """
[[topics]]
id = "figures"
source = "ours"
title = "Сандар"

[[topics]]
id = "figures"
source = "ours"
title = "Цифрлар"

[[people]]
id = "grigory-trubnikov"
source = "ours"
""",
        encoding="utf-8",
    )
    assert problems(content) == [
        "translations/kk.toml: topics 'figures' field 'title': translated twice (also in "
        "topics 'figures')",
        "translations/kk.toml: people 'grigory-trubnikov': translates no field (add one of: name)",
    ]


async def test_translations_round_trip_through_sync_and_export(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    records = load_content(DEFAULT_CONTENT)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions.begin() as session:
        report = await sync_content(session, records)
    assert report.kinds["translations"].created == len(records.translations) == 661
    async with sessions() as session:
        files = content_files(await exports.content_rows(session), header="exported")
    for language in ("ru", "kk"):
        name = f"translations/{language}.toml"
        curated = tomllib.loads((DEFAULT_CONTENT / name).read_text(encoding="utf-8"))
        assert tomllib.loads(files[name].decode()) == curated, language
    folder = tmp_path / "exported"
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    shutil.copytree(DEFAULT_CONTENT / "sources", folder / "sources")
    assert load_content(folder).translations == records.translations
    async with sessions.begin() as session:
        again = await sync_content(session, records)
    assert again.kinds["translations"].unchanged == len(records.translations)


async def test_a_sync_keeps_a_translation_a_curator_wrote(engine: AsyncEngine) -> None:
    records = load_content(DEFAULT_CONTENT)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions.begin() as session:
        await sync_content(session, records)
        row = await session.get_one(Translation, ("facility", "ibr-2", "name", "ru"))
        row.text, row.origin = "ИБР-2", "admin"
    async with sessions.begin() as session:
        report = await sync_content(session, records)
        row = await session.get_one(Translation, ("facility", "ibr-2", "name", "ru"))
    assert report.kinds["translations"].kept == 1
    assert row.text == "ИБР-2"


async def translated_to_preview(chat: ChatSession, text: str) -> SentMessage:
    """/translate ibr-2, Russian, its name, the text: the origin to choose."""
    asked_language = await chat.send("/translate ibr-2")
    assert "Translating the facility ibr-2: IBR-2 Research Reactor" in asked_language.text
    assert asked_language.button_labels == ["Russian", "Kazakh"]
    asked_field = await chat.press(asked_language, "Russian")
    assert asked_field.button_labels == ["name ✓", "description ✓"]
    assert f"ours: {RU_IBR2}" in asked_field.text
    asked_text = await chat.press(asked_field, "name ✓")
    assert "English: IBR-2 Research Reactor" in asked_text.text
    asked_source = await chat.send(text)
    assert asked_source.button_labels[0] == "Our translation"
    return asked_source


async def test_a_curator_translates_a_field_from_telegram(running: Running) -> None:
    admin = curator(running)
    asked_source = await translated_to_preview(admin, "Импульсный реактор ИБР-2")
    preview = await admin.press(asked_source, "Our translation")
    assert f"Now: {RU_IBR2}\nAfter: Импульсный реактор ИБР-2" in preview.text
    assert "🏛 Импульсный реактор ИБР-2†" in preview.text, "as Russian readers will see it"
    assert preview.button_labels == ["✅ Confirm", "✖️ Cancel"]
    assert await changes(running) == 0, "nothing is written before Confirm"

    done = await admin.press(preview, "✅ Confirm")
    assert "Saved: the facility ibr-2, name, in Russian" in done.text
    async with running.sessions() as session:
        row = await session.get_one(Translation, ("facility", "ibr-2", "name", "ru"))
        change = (await session.scalars(select(Change))).one()
    assert (row.text, row.source_id, row.origin) == ("Импульсный реактор ИБР-2", None, "admin")
    assert (change.kind, change.item_id, change.action) == ("translation", "ibr-2", "edit")
    card = await facility_card(reader(running, "ru"), "Импульсный реактор ИБР-2")
    assert "🏛 Импульсный реактор ИБР-2†" in card.text
    history = await admin.send("/history ibr-2")
    assert "translation" in history.text
    assert "Импульсный реактор ИБР-2" in history.text


async def test_a_translation_can_follow_a_russian_source_and_is_then_unmarked(
    running: Running,
) -> None:
    admin = curator(running)
    asked_source = await translated_to_preview(admin, "ИБР-2")
    source = "jinr-2024-07-15-irkutsk-materials-ru"
    not_one = await admin.send("jinr-2023-10-04-agreement-of-intent")
    assert "There is no source" in not_one.text, "a source in another language will not do"
    preview = await admin.send(source)
    assert f"Origin: the wording of {source}" in preview.text
    assert "🏛 ИБР-2\n" in preview.text
    await admin.press(preview, "✅ Confirm")
    async with running.sessions() as session:
        row = await session.get_one(Translation, ("facility", "ibr-2", "name", "ru"))
    assert row.source_id == source
    assert asked_source.button_labels[1:], "the Russian sources are offered"


@both_ways
async def test_an_id_several_kinds_share_asks_which_and_cancel_writes_nothing(
    running: Running,
) -> None:
    admin = curator(running)
    asked = await admin.send("/translate training-agreement-2009")
    assert [label.split(":")[0] for label in asked.button_labels] == ["event", "agreement"]
    asked_language = await admin.press(asked, asked.button_labels[1])
    assert "Translating the agreement training-agreement-2009" in asked_language.text
    asked_field = await admin.press(asked_language, "Kazakh")
    assert asked_field.button_labels == ["title ✓", "place", "parties", "purpose"]
    await admin.press(asked_field, "place")
    # There is no Kazakh source to choose from: straight to the preview.
    preview = await admin.send("Астана")
    assert "Origin: our translation" in preview.text
    assert "After: Астана" in preview.text
    cancelled = await admin.press(preview, "✖️ Cancel")
    assert cancelled.text == "✖️ Cancelled: nothing was changed."
    assert await changes(running) == 0
    unknown = await admin.send("/translate ibr-3")
    assert "Close ids: ibr-2" in unknown.text


async def test_a_translation_changed_after_the_preview_is_not_overwritten(
    running: Running,
) -> None:
    admin = curator(running)
    preview = await admin.press(
        await translated_to_preview(admin, "Реактор ИБР-2"), "Our translation"
    )
    async with running.sessions.begin() as session:
        row = await session.get_one(Translation, ("facility", "ibr-2", "name", "ru"))
        row.text = "ИБР-2 (изменено)"
    refused = await admin.press(preview, "✅ Confirm")
    assert "Not saved" in refused.text
    assert "It is now: ИБР-2 (изменено)" in refused.text
    assert await changes(running) == 0


async def test_someone_else_pressing_every_translation_button_writes_nothing(
    running: Running,
) -> None:
    admin = curator(running)
    await admin.send("/translate training-agreement-2009")
    await translated_to_preview(admin, "Реактор")
    messages = running.emulator.messages(ADMIN)
    await admin.press(messages[-1], "Our translation")
    shown = [
        (message.message_id, button.callback_data)
        for message in running.emulator.messages(ADMIN)
        for row in message.buttons
        for button in row
        if button.callback_data
    ]
    # Kind, language, field, origin (ours and each source), Confirm, Cancel.
    assert len(shown) >= 8
    async with running.sessions() as session:
        before = (await session.scalars(select(Translation))).all()
        before_texts = sorted((row.item_id, row.field, row.language, row.text) for row in before)
    stranger = running.chat(STRANGER, first_name="Stranger")
    emulator = running.emulator
    presses = [
        emulator.press_data(ADMIN, STRANGER, data, message_id=message_id)
        for message_id, data in shown
    ]
    presses += [emulator.press_data(STRANGER, STRANGER, data) for _, data in shown]
    answers = [await emulator.wait_for_callback_answer(press) for press in presses]
    assert all(answer.show_alert and "curators only" in (answer.text or "") for answer in answers)
    refused = await stranger.send("/translate ibr-2")
    assert "curators only" in refused.text
    async with running.sessions() as session:
        after = (await session.scalars(select(Translation))).all()
        after_texts = sorted((row.item_id, row.field, row.language, row.text) for row in after)
    assert after_texts == before_texts
    assert await changes(running) == 0
    # The curator's own preview still works.
    [preview] = [m for m in emulator.messages(ADMIN) if "✅ Confirm" in m.button_labels]
    done = await admin.press(preview, "✅ Confirm")
    assert "Saved" in done.text


async def test_the_knowledge_holds_every_translation_once_synced(running: Running) -> None:
    async with running.sessions() as session:
        known = await knowledge.load(session)
    found = known.translation("facility", "ibr-2", "name", "ru")
    assert found is not None
    assert found.text == RU_IBR2
    assert found.source_id is None
    assert set(known.translated("facility", "ibr-2", "name")) == {
        RU_IBR2,
        "ИБР-2 зерттеу реакторы",
    }


async def test_an_exported_zip_brings_its_translations_back_through_import(
    running: Running,
) -> None:
    async with running.sessions() as session:
        files = content_files(await exports.content_rows(session), header="exported")
    name = "translations/ru.toml"
    files[name] = files[name].decode().replace(f'"{RU_IBR2}"', '"Реактор ИБР-2"').encode()
    admin = curator(running)
    dry_run = await admin.send_document("content.zip", zipped(files), caption="/import")
    assert "translations: 660 unchanged" in dry_run.text
    assert "1 updated: ibr-2 ru (name)" in dry_run.text
    done = await admin.press(dry_run, "Import")
    assert "Imported" in done.text
    async with running.sessions() as session:
        row = await session.get_one(Translation, ("facility", "ibr-2", "name", "ru"))
        change = (await session.scalars(select(Change))).one()
    assert (row.text, row.origin) == ("Реактор ИБР-2", "admin")
    assert (change.kind, change.item_id, change.action) == ("translation", "ibr-2", "import")
