"""Telegram's HTML parse mode, reproduced so the emulator refuses exactly what Telegram refuses.

The rules follow tdlib's `parse_html` (which the Bot API server runs): a small tag set, four
named character references, every numeric one, and errors worded like Telegram's. Offsets and
lengths are in UTF-16 code units, as the Bot API counts them.
"""

import re
from dataclasses import dataclass
from typing import NotRequired, TypedDict
from urllib.parse import urlsplit


class Entity(TypedDict):
    """A MessageEntity as the Bot API returns it."""

    type: str
    offset: int
    length: int
    url: NotRequired[str]
    language: NotRequired[str]
    custom_emoji_id: NotRequired[str]
    user: NotRequired[dict[str, object]]


class TelegramHtmlError(ValueError):
    """Markup Telegram refuses; the message is the part after "can't parse entities: "."""


_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_NAMED_REFERENCES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# tdlib treats NUL as a space, which is also how it notices the end of the input.
_SPACES = frozenset(" \t\r\n\v\0")
_END = "\0"
_DIGITS = frozenset("0123456789")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_NAME_TOKEN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_SPECIAL = re.compile("[<&]")
_USER_LINK = re.compile(r"tg://user\?id=(\d{1,18})", re.IGNORECASE)
_LINK_SCHEMES = frozenset({"http", "https", "tg", "ton"})
# Telegram sorts entities by offset, longer first, then by this per-type priority.
_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
_HIDDEN_DATA_TYPES = frozenset({"text_link", "text_mention", "custom_emoji"})
_BLANK_UNITS = frozenset({b" \x00", b"\n\x00"})


def utf16_length(text: str) -> int:
    """Length as the Bot API measures it: characters outside the BMP count twice."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def parse(html: str) -> tuple[str, list[Entity]]:
    """Plain text and entities for `html`, or TelegramHtmlError where Telegram would refuse it."""
    return _Parser(html).run()


def trim(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Drop blank edges and blank-only entities, as Telegram does before it stores a message."""
    units = text.encode("utf-16-le", "surrogatepass")
    count = len(units) // 2

    def blank(index: int) -> bool:
        return units[2 * index : 2 * index + 2] in _BLANK_UNITS

    kept: list[Entity] = []
    for entity in entities:
        start, end = entity["offset"], entity["offset"] + entity["length"]
        if entity["type"] not in _HIDDEN_DATA_TYPES:
            while start < end and blank(start):
                start += 1
            if start == end:
                continue
        kept.append({**entity, "offset": start, "length": end - start})

    last = count - 1
    while last >= 0 and blank(last):
        last -= 1
    if last < 0:
        return "", []
    clipped: list[Entity] = []
    for entity in kept:
        if entity["offset"] > last:
            continue
        end = min(entity["offset"] + entity["length"], last + 1)
        clipped.append({**entity, "length": end - entity["offset"]})

    first_entity = min((entity["offset"] for entity in clipped), default=last + 1)
    first = 0
    while first < first_entity and blank(first):
        first += 1
    shifted: list[Entity] = [{**entity, "offset": entity["offset"] - first} for entity in clipped]
    trimmed = units[2 * first : 2 * (last + 1)].decode("utf-16-le", "surrogatepass")
    return trimmed, _sorted(shifted)


def _sorted(entities: list[Entity]) -> list[Entity]:
    def key(entity: Entity) -> tuple[int, int, int]:
        priority = _PRIORITY.get(entity["type"], 50)
        if entity["type"] == "pre" and "language" in entity:
            priority = 10
        return entity["offset"], -entity["length"], priority

    return sorted(entities, key=key)


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int
    text_index: int


class _Parser:
    """One pass over the markup, mirroring tdlib's state machine and its error messages."""

    def __init__(self, html: str) -> None:
        self._html = html
        self._source = html + _END
        self._pieces: list[str] = []
        self._offset = 0
        self._open: list[_OpenTag] = []
        self._entities: list[Entity] = []
        self._saw_surrogate = False

    def run(self) -> tuple[str, list[Entity]]:
        html, size, i = self._html, len(self._html), 0
        while i < size:
            special = _SPECIAL.search(html, i)
            stop = special.start() if special else size
            if stop > i:
                self._emit(html[i:stop])
                i = stop
                continue
            if html[i] == "&":
                i = self._reference(i)
            elif self._source[i + 1] == "/":
                i = self._close_tag(i)
            else:
                i = self._open_tag(i)
        if self._open:
            raise TelegramHtmlError(
                f"Can't find end tag corresponding to start tag {self._open[-1].name}"
            )
        for entity in self._entities:
            if entity["type"] == "code":
                entity.pop("language", None)
        text = "".join(self._pieces)
        if self._saw_surrogate and any(0xD800 <= ord(char) <= 0xDFFF for char in text):
            raise TelegramHtmlError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        return text, _sorted(self._entities)

    def _emit(self, piece: str) -> None:
        self._pieces.append(piece)
        self._offset += utf16_length(piece)

    def _byte_offset(self, index: int) -> int:
        return len(self._html[:index].encode("utf-8", "surrogatepass"))

    def _fail(self, message: str, index: int) -> TelegramHtmlError:
        return TelegramHtmlError(f"{message} at byte offset {self._byte_offset(index)}")

    def _reference(self, i: int) -> int:
        decoded = _decode_reference(self._source, i)
        if decoded is None:
            self._emit("&")
            return i + 1
        char, end = decoded
        self._saw_surrogate |= 0xD800 <= ord(char) <= 0xDFFF
        self._emit(char)
        return end

    def _open_tag(self, begin: int) -> int:
        source = self._source
        i = begin + 1
        while source[i] not in _SPACES and source[i] != ">":
            i += 1
        if source[i] == _END:
            raise self._fail("Unclosed start tag", begin)
        name = source[begin + 1 : i].translate(_ASCII_LOWER)
        if name not in _TAGS:
            raise self._fail(f'Unsupported start tag "{name}"', begin)

        argument = ""
        while source[i] != ">":
            while source[i] != _END and source[i] in _SPACES:
                i += 1
            if source[i] == ">":
                break
            attribute_begin = i
            while source[i] not in _SPACES and source[i] not in "=>":
                i += 1
            attribute = source[attribute_begin:i]
            if not attribute:
                raise self._fail(f'Empty attribute name in the tag "{name}"', begin)
            while source[i] != _END and source[i] in _SPACES:
                i += 1
            if source[i] == "=":
                i, value = self._attribute_value(name, begin, i + 1)
            elif source[i] == _END:
                raise self._fail(f'Unclosed start tag "{name}"', begin)
            else:
                value = ""
            argument = _tag_argument(name, attribute, value, argument)

        if name == "span" and argument != "spoiler":
            raise self._fail('Tag "span" must have class "tg-spoiler"', begin)
        self._open.append(_OpenTag(name, argument, self._offset, len(self._pieces)))
        return i + 1

    def _attribute_value(self, name: str, begin: int, i: int) -> tuple[int, str]:
        source = self._source
        while source[i] != _END and source[i] in _SPACES:
            i += 1
        if source[i] == _END:
            raise self._fail(f'Unclosed start tag "{name}"', begin)
        if source[i] not in "'\"":
            token_begin = i
            while source[i] in _NAME_TOKEN:
                i += 1
            if source[i] not in _SPACES and source[i] != ">":
                raise self._fail("Unexpected end of name token", token_begin)
            value = source[token_begin:i].translate(_ASCII_LOWER)
        else:
            quote = source[i]
            i += 1
            chars: list[str] = []
            while source[i] != quote and source[i] != _END:
                decoded = _decode_reference(source, i) if source[i] == "&" else None
                if decoded is None:
                    chars.append(source[i])
                    i += 1
                else:
                    chars.append(decoded[0])
                    i = decoded[1]
            if source[i] == quote:
                i += 1
            value = "".join(chars)
        if source[i] == _END:
            raise self._fail("Unclosed start tag", begin)
        return i, value

    def _close_tag(self, begin: int) -> int:
        source = self._source
        if not self._open:
            raise self._fail("Unexpected end tag", begin)
        i = begin + 2
        while source[i] not in _SPACES and source[i] != ">":
            i += 1
        name = source[begin + 2 : i].translate(_ASCII_LOWER)
        while source[i] != _END and source[i] in _SPACES:
            i += 1
        if source[i] != ">":
            raise self._fail("Unclosed end tag", begin)
        tag = self._open[-1]
        if name and name != tag.name:
            raise TelegramHtmlError(
                f"Unmatched end tag at byte offset {self._byte_offset(begin)}, "
                f'expected "</{tag.name}>", found "</{name}>"'
            )
        if self._offset > tag.offset:
            self._close_entity(tag)
        self._open.pop()
        return i + 1

    def _close_entity(self, tag: _OpenTag) -> None:
        offset, length = tag.offset, self._offset - tag.offset
        previous = self._entities[-1] if self._entities else None
        covers_same = (
            previous is not None and previous["offset"] == offset and previous["length"] == length
        )
        if tag.name in _SIMPLE_TYPES:
            self._entities.append(
                Entity(type=_SIMPLE_TYPES[tag.name], offset=offset, length=length)
            )
        elif tag.name == "tg-emoji":
            if not _is_custom_emoji_id(tag.argument):
                raise TelegramHtmlError("Invalid custom emoji identifier specified")
            self._entities.append(
                Entity(
                    type="custom_emoji", offset=offset, length=length, custom_emoji_id=tag.argument
                )
            )
        elif tag.name == "a":
            self._close_link(tag, offset, length)
        elif tag.name == "pre":
            if previous is not None and covers_same and previous["type"] == "code":
                language = previous.get("language", "")
                if language:
                    self._entities[-1] = Entity(
                        type="pre", offset=offset, length=length, language=language
                    )
                    return
            self._entities.append(Entity(type="pre", offset=offset, length=length))
        elif tag.name == "code":
            if previous is not None and covers_same and previous["type"] == "pre" and tag.argument:
                previous["language"] = tag.argument
                return
            entity = Entity(type="code", offset=offset, length=length)
            if tag.argument:
                entity["language"] = tag.argument
            self._entities.append(entity)
        else:
            kind = "expandable_blockquote" if tag.argument else "blockquote"
            self._entities.append(Entity(type=kind, offset=offset, length=length))

    def _close_link(self, tag: _OpenTag, offset: int, length: int) -> None:
        url = tag.argument or "".join(self._pieces[tag.text_index :])
        mention = _USER_LINK.fullmatch(url)
        if mention:
            user: dict[str, object] = {"id": int(mention.group(1))}
            self._entities.append(
                Entity(type="text_mention", offset=offset, length=length, user=user)
            )
            return
        checked = _checked_link(url)
        if checked:
            self._entities.append(
                Entity(type="text_link", offset=offset, length=length, url=checked)
            )


def _is_custom_emoji_id(value: str) -> bool:
    return bool(re.fullmatch(r"-?\d{1,19}", value)) and 0 < abs(int(value)) < 2**63


def _tag_argument(tag: str, attribute: str, value: str, current: str) -> str:
    if tag == "a" and attribute == "href":
        return value
    if tag == "code" and attribute == "class" and value.startswith("language-"):
        return value.removeprefix("language-")
    if tag == "span" and attribute == "class" and value.startswith("tg-"):
        return value.removeprefix("tg-")
    if tag == "tg-emoji" and attribute == "emoji-id":
        return value
    if tag == "blockquote" and attribute == "expandable":
        return "1"
    return current


def _decode_reference(source: str, pos: int) -> tuple[str, int] | None:
    """The character an `&` reference at `pos` stands for and where it ends; None keeps it text."""
    end = pos + 1
    if source[end] == "#":
        end += 1
        digits, base = _DIGITS, 10
        if source[end] == "x":
            end += 1
            digits, base = _HEX_DIGITS, 16
        start = end
        while source[end] in digits:
            end += 1
        if end - pos >= 10 or end == start:
            return None
        code = int(source[start:end], base)
        if code == 0 or code >= 0x10FFFF:
            return None
        char = chr(code)
    else:
        while source[end].isascii() and source[end].isalpha():
            end += 1
        named = _NAMED_REFERENCES.get(source[pos + 1 : end])
        if named is None:
            return None
        char = named
    if source[end] == ";":
        end += 1
    return char, end


def _checked_link(url: str) -> str:
    """The URL Telegram would keep for a link, or "" where it silently drops the link."""
    url = url.strip()
    if not url:
        return ""
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if scheme not in _LINK_SCHEMES:
        return ""
    if scheme in {"tg", "ton"}:
        return url
    host = parts.hostname or ""
    if ("." not in host and ":" not in host) or any(char in _SPACES for char in url):
        return ""
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{scheme}://{parts.netloc}{path}{query}{fragment}"
