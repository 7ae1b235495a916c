"""A bot message's text and entities laid out for a terminal: styles as ANSI colour codes,
links spelled out, quotes barred, long lines wrapped at spaces to the terminal's width.
"""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import TypeAlias

from bot.emulator.telegram_html import Entity

# SGR codes: the entity styles Telegram shows.
_ENTITY_STYLES = {
    "bold": "1",
    "italic": "3",
    "underline": "4",
    "strikethrough": "9",
    "code": "36",
    "pre": "36",
    "text_link": "34",
    "url": "34",
    "text_mention": "34",
}
_BLOCKQUOTES = frozenset({"blockquote", "expandable_blockquote"})
DIM = frozenset({"2"})
_QUOTE_BAR = "│ "
# A list item's marker: its wrapped lines line up after it.
_BULLET = re.compile(r"(?:[•◦▪‣–-]|\d{1,3}[.)]) ")

Cell: TypeAlias = tuple[str, frozenset[str]]
"""One character and the SGR codes it is painted with."""
Line: TypeAlias = tuple[bool, list[Cell]]
"""One line of a message as painted cells, and whether it is part of a blockquote."""


def render_text(
    text: str, entities: Sequence[Entity], *, color: bool = False, width: int | None = None
) -> list[str]:
    """A message's lines for a terminal: styles as ANSI, links spelled out, quotes barred."""
    return layout(split_lines(text, entities), color=color, width=width)


def split_lines(text: str, entities: Sequence[Entity]) -> list[Line]:
    """Each line of the text as painted cells, and whether it is part of a blockquote."""
    index = _char_index(text)
    styles: list[set[str]] = [set() for _ in text]
    quoted = [False] * len(text)
    suffixes: dict[int, list[str]] = {}
    for entity in entities:
        start = index(entity["offset"])
        end = index(entity["offset"] + entity["length"])
        kind = entity["type"]
        if kind in _BLOCKQUOTES:
            quoted[start:end] = [True] * (end - start)
        elif kind in _ENTITY_STYLES:
            for position in range(start, end):
                styles[position].add(_ENTITY_STYLES[kind])
        if kind == "text_link" and "url" in entity:
            suffixes.setdefault(end, []).append(f" ({entity['url']})")

    lines: list[Line] = []
    cells: list[Cell] = []
    line_start = 0
    for position in range(len(text) + 1):
        for suffix in suffixes.get(position, ()):
            cells.extend((char, DIM) for char in suffix)
        if position == len(text) or text[position] == "\n":
            # An empty line is quoted when its own newline lies inside the quote.
            lines.append((line_start < len(text) and quoted[line_start], cells))
            cells, line_start = [], position + 1
        else:
            cells.append((text[position], frozenset(styles[position])))
    return lines


def _char_index(text: str) -> Callable[[int], int]:
    """Turns a UTF-16 offset (what entities count in) into an index into `text`."""
    starts: list[int] = []
    units = 0
    for char in text:
        starts.append(units)
        units += 2 if ord(char) > 0xFFFF else 1
    return lambda offset: bisect.bisect_left(starts, offset)


def layout(lines: list[Line], *, color: bool, width: int | None) -> list[str]:
    """Painted lines, each wrapped to `width` columns (when given) inside its quote bar."""
    out: list[str] = []
    for quoted, cells in lines:
        bar = [(char, DIM) for char in _QUOTE_BAR] if quoted else []
        if width is None:
            rows = [cells]
        else:
            bullet = _BULLET.match("".join(char for char, _ in cells))
            rows = _wrap(cells, width - len(bar), hang=bullet.end() if bullet else 0)
        out.extend(paint(_rstrip(bar + row), color=color) for row in rows)
    return out


def _wrap(cells: list[Cell], width: int, *, hang: int = 0) -> list[list[Cell]]:
    """Break at spaces to fit `width` columns, continuation rows indented by `hang`.

    A word longer than a row is cut.
    """
    hang = min(hang, width // 2)
    rows: list[list[Cell]] = []
    row: list[Cell] = []
    used, space, limit = 0, -1, width

    def finish(done: list[Cell]) -> None:
        rows.append(done if not rows else [(" ", frozenset())] * hang + done)

    for cell in cells:
        columns = _columns(cell[0])
        if row and used + columns > limit:
            limit = width - hang
            if cell[0] == " ":
                finish(row)
                row, used, space = [], 0, -1
                continue
            if space >= 0:
                finish(row[:space])
                row = row[space + 1 :]
            else:
                finish(row)
                row = []
            used, space = sum(_columns(char) for char, _ in row), -1
        row.append(cell)
        used += columns
        if cell[0] == " ":
            space = len(row) - 1
    finish(row)
    return rows


def _columns(char: str) -> int:
    """How wide a terminal draws the character: emoji and CJK take two, combining marks none."""
    if unicodedata.combining(char) or unicodedata.category(char) in {"Mn", "Me", "Cf"}:
        return 0
    return 2 if unicodedata.east_asian_width(char) in {"W", "F"} else 1


def _rstrip(cells: list[Cell]) -> list[Cell]:
    end = len(cells)
    while end and cells[end - 1][0] == " ":
        end -= 1
    return cells[:end]


def paint(cells: Sequence[Cell], *, color: bool) -> str:
    """The cells as text, with their SGR codes when `color`."""
    if not color:
        return "".join(char for char, _ in cells)
    out: list[str] = []
    for codes, group in itertools.groupby(cells, key=lambda cell: cell[1]):
        text = "".join(char for char, _ in group)
        out.append(f"\x1b[{';'.join(sorted(codes))}m{text}\x1b[0m" if codes else text)
    return "".join(out)
