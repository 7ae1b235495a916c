"""Split Telegram HTML into messages that each fit Telegram's length limit.

A naive cut can leave a tag or an entity half written, and then Telegram refuses the whole
message. So the markup is first broken into atoms (tags, entities, runs of text) and then packed
greedily: a chunk closes the tags still open where it is cut, and the next chunk opens them again
with the same attributes. Sizes are UTF-16 code units of the markup itself, which is never less
than what Telegram counts after parsing.
"""

from __future__ import annotations

import re
from enum import Enum
from html import unescape
from typing import NamedTuple


class _Kind(Enum):
    OPEN = "open"
    CLOSE = "close"
    ENTITY = "entity"
    TEXT = "text"


class _Atom(NamedTuple):
    kind: _Kind
    raw: str
    size: int  # UTF-16 code units of raw
    closing: str = ""  # for OPEN: the tag that ends it; tag names are ASCII, so len() is its size


_TOKEN = re.compile(
    r"""<(?:[^>"']|"[^"]*"|'[^']*')*>"""
    # Telegram also reads a reference without its ";", so those must not be cut either.
    r"|&(?:\#[0-9]+|\#[xX][0-9a-fA-F]+|[a-zA-Z]+);?"
    # A stray < or & is not valid Telegram HTML; keeping it as text is kinder than failing.
    r"|[^<&]+|[<&]"
)
_TAG = re.compile(r"<[^>]*>")
_TAG_NAME = re.compile(r"<([^\s>]*)")  # as Telegram reads it: up to a space or the ">"
_WHITESPACE = re.compile(r"\s+")
# Where to cut, best first: each matches up to the last blank line, line break or whitespace.
_LAST_BREAK = (
    re.compile(r".*\n[^\S\n]*\n", re.DOTALL),
    re.compile(r".*\n", re.DOTALL),
    re.compile(r".*\s", re.DOTALL),
)


def split_html(html: str, limit: int = 4096) -> list[str]:
    """Cut HTML into chunks of at most `limit` UTF-16 units, each valid Telegram HTML."""
    if _units(html) <= limit:
        # The common case, a reply that fits, costs a length and a scan, not a tokenization.
        return [html] if unescape(_TAG.sub("", html)).strip() else []
    atoms = _tokenize(html)
    if not any(_is_visible(atom) for atom in atoms):
        return []
    chunks: list[str] = []
    start = 0
    opened: list[_Atom] = []
    while start < len(atoms):
        chunk, start, opened = _take_chunk(atoms, start, opened, limit)
        if any(_is_visible(atom) for atom in chunk):
            chunks.append(_render(chunk))
    return chunks


def visible_length(html: str) -> int:
    """UTF-16 length of the text Telegram shows, which is what its 4096 limit counts."""
    return sum(
        _units(unescape(atom.raw)) if atom.kind is _Kind.ENTITY else atom.size
        for atom in _tokenize(html)
        if atom.kind in (_Kind.TEXT, _Kind.ENTITY)
    )


def _units(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def _text(raw: str) -> _Atom:
    return _Atom(_Kind.TEXT, raw, _units(raw))


def _tokenize(html: str) -> list[_Atom]:
    atoms: list[_Atom] = []
    tags: dict[str, _Atom] = {}  # the same few tags come back again and again
    for raw in _TOKEN.findall(html):
        if len(raw) == 1 or raw[0] not in "<&":
            atoms.append(_text(raw))
        elif raw[0] == "&":
            atoms.append(_Atom(_Kind.ENTITY, raw, len(raw)))
        else:
            if raw not in tags:
                tags[raw] = _tag(raw)
            atoms.append(tags[raw])
    return atoms


def _tag(raw: str) -> _Atom:
    if raw[1] == "/":
        return _Atom(_Kind.CLOSE, raw, _units(raw))
    name = _TAG_NAME.match(raw)
    assert name is not None  # every tag starts with "<"
    return _Atom(_Kind.OPEN, raw, _units(raw), f"</{name.group(1).lower()}>")


def _is_visible(atom: _Atom) -> bool:
    if atom.kind is _Kind.ENTITY:
        return not unescape(atom.raw).isspace()
    return atom.kind is _Kind.TEXT and not atom.raw.isspace() and atom.raw != ""


def _step(stack: list[_Atom], atom: _Atom) -> None:
    if atom.kind is _Kind.OPEN:
        stack.append(atom)
    elif atom.kind is _Kind.CLOSE and stack:
        stack.pop()


def _take_chunk(
    atoms: list[_Atom], start: int, opened: list[_Atom], limit: int
) -> tuple[list[_Atom], int, list[_Atom]]:
    """Fill one chunk from atoms[start:], then cut it at the best break within reach.

    Returns the chunk's atoms (reopened and closing tags included), where the next chunk starts,
    and the tags open there. Text cut in two leaves its rest in place of the atom it came from.
    """
    stack = list(opened)
    # Invariant: `used` is the chunk so far plus the tags that would close it, and is <= limit.
    used = sum(tag.size + len(tag.closing) for tag in stack)
    if used >= limit:
        raise ValueError(
            f"limit {limit} leaves no room for text inside the {len(stack)} nested tags "
            f"({used} UTF-16 units) that must be reopened after a cut"
        )
    end = start
    while end < len(atoms):
        atom = atoms[end]
        cost = atom.size
        if atom.kind is _Kind.OPEN:
            cost += len(atom.closing)
        elif atom.kind is _Kind.CLOSE and stack:
            cost -= len(stack[-1].closing)
        if used + cost > limit:
            break
        used += cost
        _step(stack, atom)
        end += 1
    if end == len(atoms):
        return [*opened, *atoms[start:end], *_closers(stack)], end, stack

    fitting = _fitting_chars(atoms[end], limit - used)
    cut = _last_break(atoms, start, end, fitting)
    # The chunk ends with atoms[index].raw[:keep]; the next one resumes at .raw[drop:].
    index, keep, drop = cut or (end, fitting, fitting)
    if index == start and drop == 0:
        raise ValueError(
            f"limit {limit} is too small for {atoms[start].raw[:40]!r} "
            f"inside {len(opened)} nested tags"
        )
    # Every prefix of the chunk fitted together with its closing tags, so an earlier cut fits.
    stack = list(opened)
    for atom in atoms[start:index]:
        _step(stack, atom)
    chunk = [*opened, *atoms[start:index]]
    resume = index
    if drop:
        text = atoms[index].raw
        if keep:
            chunk.append(_text(text[:keep]))
        rest = text[drop:]
        if rest:
            atoms[index] = _Atom(_Kind.TEXT, rest, atoms[index].size - _units(text[:drop]))
        else:
            resume += 1
    return [*chunk, *_closers(stack)], resume, stack


def _closers(stack: list[_Atom]) -> list[_Atom]:
    return [_Atom(_Kind.CLOSE, tag.closing, len(tag.closing)) for tag in reversed(stack)]


def _fitting_chars(atom: _Atom, budget: int) -> int:
    """How many characters of a text atom fit in `budget` units, never half a surrogate pair."""
    if atom.kind is not _Kind.TEXT or budget <= 0:
        return 0
    encoded = atom.raw[:budget].encode("utf-16-le")[: 2 * budget]
    # A dangling high surrogate is an incomplete character, which "ignore" leaves out.
    return len(encoded.decode("utf-16-le", errors="ignore"))


def _last_break(
    atoms: list[_Atom], start: int, end: int, fitting: int
) -> tuple[int, int, int] | None:
    """The best whitespace to cut at in atoms[start:end] and the first `fitting` chars of end.

    Returns where it is as (atom index, keep, drop), like `_take_chunk` uses it.
    """
    for pattern in _LAST_BREAK:
        for index in range(end, start - 1, -1):
            text = atoms[index].raw
            if atoms[index].kind is not _Kind.TEXT:
                continue
            # Whitespace is dropped at a cut, so a run counts if it starts within reach.
            reach = len(text)
            if index == end:
                run = _WHITESPACE.match(text, fitting)
                reach = run.end() if run else fitting
            found = pattern.match(text, 0, reach)
            if found:
                return (index, *_whitespace_around(text, found.end() - 1))
    return None


def _whitespace_around(text: str, at: int) -> tuple[int, int]:
    """The whitespace run holding text[at], less the indentation after its last line break."""
    keep = at
    while keep > 0 and text[keep - 1].isspace():
        keep -= 1
    run = _WHITESPACE.match(text, at)
    assert run is not None  # text[at] is whitespace
    newline = text.rfind("\n", keep, run.end())
    return keep, newline + 1 if newline >= 0 else run.end()


def _render(atoms: list[_Atom]) -> str:
    """Join the atoms, leaving out elements a cut left empty, such as `<b></b>`."""
    kept: list[_Atom] = []
    for atom in atoms:
        if atom.kind is _Kind.CLOSE and kept and kept[-1].kind is _Kind.OPEN:
            kept.pop()
        else:
            kept.append(atom)
    return "".join(atom.raw for atom in kept)
