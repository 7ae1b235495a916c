"""Splitting long HTML into messages Telegram accepts, without losing or reordering text."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.emulator.telegram_html import Entity, TelegramHtmlError, parse
from bot.telegram.splitting import split_html, visible_length

_TAG = re.compile(r"<[^>]*>")


def units(text: str) -> int:
    """Length as Telegram bounds it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def test_text_that_fits_is_returned_unchanged() -> None:
    text = "<b>Dubna</b> &amp; Almaty\n\n<i>since 1992</i> "
    assert split_html(text, limit=units(text)) == [text]


def test_empty_or_blank_input_gives_no_chunks() -> None:
    assert split_html("") == []
    assert split_html(" \n\n <b> </b>\t") == []


def test_cut_prefers_a_blank_line_to_a_line_break() -> None:
    text = "first paragraph\n\nsecond\nparagraph goes on"
    assert split_html(text, limit=30) == ["first paragraph", "second\nparagraph goes on"]


def test_cut_prefers_a_line_break_to_a_space() -> None:
    text = "one line here\nanother line here"
    assert split_html(text, limit=25) == ["one line here", "another line here"]


def test_cut_prefers_a_space_to_splitting_a_word() -> None:
    assert split_html("alpha beta gamma", limit=12) == ["alpha beta", "gamma"]


def test_bold_across_a_cut_is_closed_and_reopened() -> None:
    chunks = split_html("<b>alpha beta gamma</b> delta", limit=20)
    assert chunks == ["<b>alpha beta</b>", "<b>gamma</b> delta"]


def test_entity_is_never_cut() -> None:
    chunks = split_html("R&amp;D&amp;D&amp;D", limit=10)
    assert chunks == ["R&amp;D", "&amp;D", "&amp;D"]
    assert "".join(parse(chunk)[0] for chunk in chunks) == "R&D&D&D"


def test_emoji_counts_as_two_units_and_is_never_cut_in_half() -> None:
    chunks = split_html("a" + "😀" * 6, limit=6)
    assert chunks == ["a😀😀", "😀😀😀", "😀"]
    assert all(units(chunk) <= 6 for chunk in chunks)


def test_link_is_reopened_with_the_same_href() -> None:
    opening = '<a href="https://jinr.ru/?a=1&amp;b=2">'
    chunks = split_html(f"{opening}one two three four five</a>", limit=len(opening) + 14)
    assert chunks == [
        f"{opening}one two</a>",
        f"{opening}three four</a>",
        f"{opening}five</a>",
    ]


def test_ten_thousand_character_word_is_cut_hard() -> None:
    chunks = split_html("<i>" + "x" * 10_000 + "</i>", limit=107)
    assert chunks == ["<i>" + "x" * 100 + "</i>"] * 100


def test_indentation_after_a_line_break_stays_with_its_line() -> None:
    code = "<pre>def f():\n    return 1\n\n    pass</pre>"
    assert split_html(code, limit=24) == [
        "<pre>def f():</pre>",
        "<pre>    return 1</pre>",
        "<pre>    pass</pre>",
    ]


def test_long_whitespace_is_dropped_at_the_cut() -> None:
    assert split_html("left" + " " * 500 + "right", limit=10) == ["left", "right"]


def test_nesting_too_deep_for_the_limit_raises_value_error() -> None:
    text = "<b><i><u><s>" * 10 + "deep words here" + "</s></u></i></b>" * 10
    with pytest.raises(ValueError, match="limit 100"):
        split_html(text, limit=100)


def test_visible_length_counts_text_not_markup() -> None:
    assert visible_length('<a href="https://jinr.ru">JINR</a> &amp; 😀') == 9


def test_hundred_kilobytes_split_into_full_chunks() -> None:
    paragraph = "<b>JINR</b> and <i>Kazakhstan</i> work together &amp; share data.\n"
    text = paragraph * (100_000 // len(paragraph))
    chunks = split_html(text)
    assert len(chunks) == 25
    assert all(len(chunk) > 3900 for chunk in chunks[:-1])


# Text that looks like markup, emoji, control characters: escaped, as a caller must.
_TEXT = (
    st.lists(
        st.one_of(
            st.text(max_size=30),
            st.sampled_from(["😀", "👍🏽", "&", "<", ">", " ", "  ", "\n", "\n\n", "\t"]),
        ),
        max_size=20,
    )
    .map("".join)
    .map(lambda text: html.escape(text, quote=False))
)
_HREF = st.text(st.sampled_from("abcxyz/?=&%#-_.~é"), max_size=120).map(
    lambda path: html.escape(f"https://example.org/{path}")
)
_FORMATTING = [
    ("<b>", "</b>"),
    ("<strong>", "</strong>"),
    ("<i>", "</i>"),
    ("<em>", "</em>"),
    ("<u>", "</u>"),
    ("<ins>", "</ins>"),
    ("<s>", "</s>"),
    ("<strike>", "</strike>"),
    ("<del>", "</del>"),
    ('<span class="tg-spoiler">', "</span>"),
    ("<tg-spoiler>", "</tg-spoiler>"),
]
_EMOJI = st.just('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>')


_BLOCKQUOTES = [("<blockquote>", "</blockquote>"), ("<blockquote expandable>", "</blockquote>")]
_CODE = [
    ("<code>", "</code>"),
    ("<pre>", "</pre>"),
    ('<pre><code class="language-python">', "</code></pre>"),
]


def _wrap(tag: tuple[str, str], parts: list[str]) -> str:
    opening, closing = tag
    return opening + "".join(parts) + closing


def _inline(depth: int, in_link: bool = False) -> st.SearchStrategy[str]:
    """Formatting, links and custom emoji, nested as Telegram allows them."""
    if depth == 0:
        return _TEXT
    options = [
        _TEXT,
        st.builds(
            _wrap, st.sampled_from(_FORMATTING), st.lists(_inline(depth - 1, in_link), max_size=3)
        ),
    ]
    if not in_link:
        link = _HREF.map(lambda href: (f'<a href="{href}">', "</a>"))
        options.append(st.builds(_wrap, link, st.lists(_inline(depth - 1, True), max_size=3)))
        options.append(_EMOJI)
    return st.one_of(options)


_BLOCK = st.one_of(
    _inline(3),
    st.builds(_wrap, st.sampled_from(_CODE), st.lists(_TEXT, max_size=1)),
    st.builds(_wrap, st.sampled_from(_BLOCKQUOTES), st.lists(_inline(2), max_size=3)),
)
_DOCUMENT = st.lists(_BLOCK, max_size=8).map("".join)


def _nesting_cost(markup: str) -> int:
    """The smallest limit that always leaves room for text: below it, ValueError is expected.

    That is the most the open tags ever cost (each written once and closed once), plus room for
    the longest thing that cannot be cut, an `&amp;`.
    """
    cost, deepest = 0, 0
    costs: list[int] = []
    for tag in _TAG.finditer(markup):
        if tag.group().startswith("</"):
            cost -= costs.pop()
        else:
            name = tag.group()[1:].split(">")[0].split(" ")[0]
            costs.append(units(tag.group()) + len(f"</{name}>"))
            cost += costs[-1]
            deepest = max(deepest, cost)
    return deepest + len("&amp;")


def _styles(text: str, entities: list[Entity]) -> list[frozenset[tuple[str, ...]]]:
    """For each character, the entities covering it, each with what makes it distinct."""
    starts = []
    offset = 0
    for char in text:
        starts.append(offset)
        offset += units(char)
    styles: list[set[tuple[str, ...]]] = [set() for _ in text]
    for entity in entities:
        key = (
            entity["type"],
            entity.get("url", ""),
            entity.get("language", ""),
            entity.get("custom_emoji_id", ""),
        )
        for index, start in enumerate(starts):
            if entity["offset"] <= start < entity["offset"] + entity["length"]:
                styles[index].add(key)
    return [frozenset(style) for style in styles]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_DOCUMENT, data=st.data())
def test_chunks_fit_parse_and_keep_text_and_formatting(document: str, data: st.DataObject) -> None:
    low = max(50, _nesting_cost(document))
    limit = data.draw(st.integers(low, max(low, min(4096, units(document)))), label="limit")
    text, entities = parse(document)
    styles = _styles(text, entities)

    chunks = split_html(document, limit)
    event("chunks", min(len(chunks), 5))

    if not text.strip():
        assert chunks == []
    elif units(document) <= limit:
        assert chunks == [document]
    position = 0
    for chunk in chunks:
        assert units(chunk) <= limit
        try:
            chunk_text, chunk_entities = parse(chunk)
        except TelegramHtmlError as error:
            pytest.fail(f"{chunk!r} is not valid Telegram HTML: {error}")
        core = chunk_text.strip()
        assert core, f"{chunk!r} shows nothing"
        while text[position].isspace():
            position += 1
        assert text.startswith(core, position)
        lead = len(chunk_text) - len(chunk_text.lstrip())
        chunk_styles = _styles(chunk_text, chunk_entities)[lead : lead + len(core)]
        assert chunk_styles == styles[position : position + len(core)]
        position += len(core)
    assert not text[position:].strip()
