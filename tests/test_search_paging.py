"""Search answers whatever people type: any length, any script, HTML specials; its paging
buttons carry a short key to the words, and a key the bot no longer knows asks to search again."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bot.emulator import SentMessage
from bot.settings import Settings
from bot.telegram.callbacks import MAX_BYTES
from bot.telegram.search_memory import RecentSearches
from tests.conftest import UNPACED, Running, answers_before
from tests.helpers import errors_logged

# Words that find many things (so that there are pages), and words of every kind of script.
FINDING = ["JINR", "Dubna", "Kazakhstan", "reactor", "agreement", "Almaty"]
NASTY = [
    *("ядерная", "физика", "Қазақстан", "ғылым", "өңірлік", "ұйым", "үкімет", "\u04bb", "\u0456"),
    *("🇰🇿", "👩\u200d🔬", "⚛️", "<b>", "</i>", "&amp;", "&", "<", ">", '"', "'", "\u200b"),
    *("x" * 64, "ж" * 200, "😀" * 50),
]
WORD = st.one_of(st.sampled_from(FINDING), st.sampled_from(NASTY), st.text(max_size=20))
QUERY = st.one_of(
    st.lists(WORD, min_size=1, max_size=30).map(" ".join),
    st.text(min_size=1, max_size=4000),
).filter(lambda text: text.strip() and not text.lstrip().startswith("/"))
MARKER = "/help"
HELP = "What I can do"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, limits=UNPACED)


def button_data(message: SentMessage) -> list[str]:
    return [b.callback_data or "" for row in message.buttons for b in row]


@hypothesis_settings(
    max_examples=100,
    deadline=None,
    # One bot for the whole property: the fixture is meant to outlive the examples.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(query=QUERY, as_command=st.booleans())
async def test_any_query_is_answered_and_its_pages_turn(
    running: Running, caplog: pytest.LogCaptureFixture, query: str, as_command: bool
) -> None:
    chat = running.chat()
    running.emulator.skip_unread(chat.chat)
    chat.say(f"/search {query}" if as_command else query)
    answers = await answers_before(chat, MARKER, lambda text: HELP in text)
    assert len(answers) >= 2, "the search was answered before the /help after it"
    assert not [m for m in answers if "Something went wrong" in m.text]
    assert not errors_logged(caplog)
    found = answers[-2]
    for data in button_data(found):
        assert len(data.encode()) <= MAX_BYTES
    if "Next ›" in found.button_labels:
        turned = await chat.press(found, "Next ›")
        assert "page 2 of" in turned.text
        back = await chat.press(turned, "‹ Previous")
        assert "page 1 of" in back.text


async def test_a_long_cyrillic_question_pages_through_its_results(running: Running) -> None:
    chat = running.chat()
    question = "Что такое ОИЯИ JINR и какие реакторы в Дубне для Казахстана"
    assert len(question.encode()) > MAX_BYTES
    found = await chat.send(question)
    assert "page 1 of" in found.text
    turned = await chat.press(found, "Next ›")
    assert "page 2 of" in turned.text


async def test_nothing_found_repeats_a_long_query_shortened_and_escaped(running: Running) -> None:
    query = "<b>zzzqqq</b> " + "ж" * 3000
    reply = await running.chat().send(query)
    assert reply.text.startswith("🔎 Nothing found for “<b>zzzqqq</b> жжж")
    assert "…”" in reply.text
    assert len(reply.text) < 300


async def test_a_page_button_from_before_a_restart_asks_to_search_again(
    running: Running,
) -> None:
    chat = running.chat()
    found = await chat.send("/search JINR")
    running.app.bot_data.recent_searches = RecentSearches()  # what a restart forgets
    press = running.emulator.press_button(found, "Next ›", chat.user)
    answer = await running.emulator.wait_for_callback_answer(press)
    assert answer.show_alert
    assert answer.text == "This search is no longer in my memory. Please search again."


def test_the_memory_keeps_the_most_recently_used_searches() -> None:
    memory = RecentSearches(capacity=2)
    first, second = memory.remember("JINR"), memory.remember("Dubna")
    assert memory.recall(first) == "JINR"  # now the most recent
    memory.remember("Almaty")
    assert (memory.recall(first), memory.recall(second), len(memory)) == ("JINR", None, 2)
    assert memory.remember("JINR") == first
