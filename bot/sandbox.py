"""``coopbot sandbox``: a terminal chat with the real bot, offline.

The whole bot (PTB, handlers, storage) runs unchanged against the Bot API emulator on loopback and
on a database of its own beside the configured one, so trying it needs no token and no network,
and never touches the data of a bot that runs for real.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import dataclasses
import io
import itertools
import os
import re
import sys
import threading
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO, TypeAlias

from sqlalchemy.engine import make_url
from telegram import Update
from telegram.ext import TypeHandler

from bot.app import build_app
from bot.context import App, Context
from bot.emulator import BotApiEmulator, CallbackAnswer, SentMessage, User
from bot.runtime import open_database, polling, sync
from bot.settings import Secret, Settings, database_location
from bot.telegram_html import Entity

# Shaped like a real token so PTB accepts it; it never leaves the loopback emulator.
SANDBOX_TOKEN = "1000000:SANDBOX-offline-never-sent-anywhere"
SANDBOX_USER_ID = 100001
QUIT_COMMANDS = frozenset({"/quit", "/exit"})
# How long the bot may take over one update, and how long it must then stay quiet (messages sent
# outside the handler, e.g. by a job) before the prompt comes back: UI pacing, nothing more.
FIRST_REPLY_WAIT = 5.0
QUIET_WINDOW = 0.3
# After every feature's group, so the sandbox learns when the bot is done with an update.
LAST_GROUP = 1_000

PROMPT = "you › "
LABEL = "bot › "
INDENT = " " * len(LABEL)

# SGR codes: the entity styles Telegram shows, and the sandbox's own bits of chrome.
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
_DIM = frozenset({"2"})
_BOT = frozenset({"1", "32"})
_YOU = frozenset({"1", "34"})
_NUMBER = frozenset({"1", "36"})
_TITLE = frozenset({"1"})
_QUOTE_BAR = "│ "
# A list item's marker: its wrapped lines line up after it.
_BULLET = re.compile(r"(?:[•◦▪‣–-]|\d{1,3}[.)]) ")

_Cell: TypeAlias = tuple[str, frozenset[str]]
"""One character and the SGR codes it is painted with."""


async def run_sandbox(
    settings: Settings,
    *,
    input_stream: TextIO | None = None,
    output: TextIO | None = None,
    admin: bool = False,
) -> None:
    """Chat with the bot through the emulator until /quit, /exit, end of input or Ctrl+C.

    Raises ``ContentError`` (before the chat starts) when content/ has problems.
    """
    stream = input_stream if input_stream is not None else sys.stdin
    screen = _Screen(output if output is not None else sys.stdout)
    storage_url = sandbox_storage_url(settings.storage_url)
    try:
        async with BotApiEmulator(SANDBOX_TOKEN, bot_username="coopbot_sandbox_bot") as emulator:
            sandbox = dataclasses.replace(
                settings,
                token=Secret(SANDBOX_TOKEN),
                base_url=emulator.base_url,
                base_file_url=emulator.base_file_url,
                storage_url=storage_url,
                # --admin: you are a curator, to try the admin commands on the sandbox's data.
                admin_ids=settings.admin_ids | {SANDBOX_USER_ID} if admin else settings.admin_ids,
            )
            async with open_database(sandbox) as database:
                await sync(sandbox, database.sessions)
                app = build_app(sandbox, database.sessions)
                handled = _Handled(app)
                async with polling(app):
                    screen.banner(database_location(storage_url))
                    user = emulator.user(SANDBOX_USER_ID, "You", language_code="en")
                    await _Conversation(emulator, handled, user, screen).run(stream)
    finally:
        if screen.started:
            screen.end_line()
            screen.write(screen.paint("Sandbox closed.", _DIM) + "\n")


def sandbox_storage_url(storage_url: str) -> str:
    """``sandbox.db`` beside the configured SQLite file (settings always name a file)."""
    url = make_url(storage_url)
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        raise ValueError(f"the sandbox sits beside an SQLite file, not {storage_url!r}")
    sandbox = url.set(
        drivername="sqlite+aiosqlite", database=str(Path(database).with_name("sandbox.db"))
    )
    return sandbox.render_as_string(hide_password=False)


def render_text(
    text: str, entities: Sequence[Entity], *, color: bool = False, width: int | None = None
) -> list[str]:
    """A message's lines for a terminal: styles as ANSI, links spelled out, quotes barred."""
    return _layout(_lines(text, entities), color=color, width=width)


class _Screen:
    """The terminal side: colour only for a real terminal, wrapping to its width."""

    def __init__(self, output: TextIO) -> None:
        self.output = output
        self.color = output.isatty() and not os.environ.get("NO_COLOR")
        self.started = False
        self._at_line_start = True

    def write(self, text: str) -> None:
        if not text:
            return
        self.output.write(text)
        self.output.flush()
        self._at_line_start = text.endswith("\n")

    def end_line(self) -> None:
        """Finish a line left open (the prompt at Ctrl+D, or ^C) before printing more."""
        if not self._at_line_start:
            self.write("\n")

    def typed(self, line: str, *, echo: bool) -> None:
        """The user pressed Enter; echo the line when no terminal did (piped input)."""
        if echo:
            self.write(line)
        self._at_line_start = True

    def paint(self, text: str, codes: frozenset[str]) -> str:
        return _paint([(char, codes) for char in text], color=self.color)

    @property
    def width(self) -> int | None:
        """Columns to wrap at, for a terminal; pipes and files get lines as they are."""
        if not self.color:
            return None
        try:
            return max(os.get_terminal_size(self.output.fileno()).columns, 40)
        except (OSError, ValueError, io.UnsupportedOperation):
            return 80

    def banner(self, database: str) -> None:
        self.started = True
        self.write(
            "\n".join(
                [
                    self.paint("coopbot sandbox", _TITLE)
                    + " — chat with the real bot in this terminal.",
                    "Offline: the bot talks to a Bot API emulator on this machine,",
                    f"with no token and no internet; its data is in {database}.",
                    "",
                    "  Type a message or a /command and press Enter (/help lists them).",
                    "  Buttons are numbered [1], [2], …: type a number to press one.",
                    "  /quit, /exit or Ctrl+D leaves.",
                    "",
                    "",
                ]
            )
        )

    def note(self, text: str, *, last: bool = False) -> None:
        """The sandbox speaking, not the bot; `last` when nothing follows before the prompt."""
        self.write(INDENT + self.paint(text, _DIM) + ("\n\n" if last else "\n"))

    def show(self, message: SentMessage) -> None:
        lines = _lines(message.text, message.entities)
        if message.edits:
            quoted, cells = lines[0]
            lines[0] = (quoted, [(char, _DIM) for char in "(edited) "] + cells)
        width = self.width
        body = _layout(
            lines, color=self.color, width=None if width is None else width - len(INDENT)
        )
        if message.document is not None:
            size = len(message.document.content)
            body.append(self.paint(f"📎 {message.document.filename} ({size} bytes)", _DIM))
        body.extend(self._keyboard(message))
        head = self.paint(LABEL, _BOT)
        self.write(
            "".join(
                f"{head if i == 0 else INDENT if line else ''}{line}\n"
                for i, line in enumerate(body)
            )
            + "\n"
        )

    def show_answer(self, answer: CallbackAnswer) -> None:
        """A button's toast or alert, which Telegram shows over the chat."""
        if not answer.text:
            return
        kind = "(alert) " if answer.show_alert else "(notice) "
        self.write(f"{self.paint(LABEL, _BOT)}{self.paint(kind, _DIM)}{answer.text}\n\n")

    def _keyboard(self, message: SentMessage) -> list[str]:
        numbers = itertools.count(1)
        rows = []
        for row in message.buttons:
            labels = []
            for button in row:
                label = f"{self.paint(f'[{next(numbers)}]', _NUMBER)} {button.text}"
                if button.url is not None:
                    label += self.paint(f" ({button.url})", _DIM)
                labels.append(label)
            rows.append("  ".join(labels))
        return rows


class _Conversation:
    """The sandbox user's side of the chat: read a line, act on it, show what the bot says."""

    def __init__(
        self, emulator: BotApiEmulator, handled: _Handled, user: User, screen: _Screen
    ) -> None:
        self.emulator = emulator
        self.handled = handled
        self.user = user
        self.screen = screen

    async def run(self, stream: TextIO) -> None:
        echo = not _isatty(stream)
        while True:
            self.screen.write(self.screen.paint(PROMPT, _YOU))
            line = await _read_line(stream)
            if not line:
                return
            self.screen.typed(line if line.endswith("\n") else f"{line}\n", echo=echo)
            text = line.strip()
            if not text:
                continue
            if text.lower() in QUIT_COMMANDS:
                return
            if text.isascii() and text.isdigit():
                await self.press(int(text))
            else:
                update_id = self.emulator.send_message(self.user.id, self.user, text)
                await self.show_replies(update_id)

    async def press(self, number: int) -> None:
        """Press button `number` of the newest bot message that has buttons."""
        message = next(
            (m for m in reversed(self.emulator.messages(self.user.id)) if m.buttons), None
        )
        if message is None:
            self.screen.note(
                "No message has buttons yet. (To search for a number: /search 2023)", last=True
            )
            return
        buttons = [button for row in message.buttons for button in row]
        if not 1 <= number <= len(buttons):
            choices = "just [1]" if len(buttons) == 1 else f"[1] to [{len(buttons)}]"
            self.screen.note(
                f"There is no button {number}; the newest buttons are {choices}.", last=True
            )
            return
        button = buttons[number - 1]
        if button.callback_data is None:
            self.screen.note(
                f"“{button.text}” is a link: open {button.url} in a browser.", last=True
            )
            return
        self.screen.note(f"(pressed “{button.text}”)")
        update_id = self.emulator.press_button(message, button.callback_data, self.user)
        await self.show_replies(update_id, press=True)

    async def show_replies(self, update_id: int, *, press: bool = False) -> None:
        """Print what the bot did with one update, and anything else it says soon after."""
        finished = await self.handled.wait(update_id, timeout=FIRST_REPLY_WAIT)
        answer = self.emulator.callback_answer(update_id) if press else None
        if answer is not None:
            self.screen.show_answer(answer)
        heard = bool(answer and answer.text)
        # Whatever the handler sent is already logged; the window only catches stragglers.
        while True:
            try:
                sent = await self.emulator.wait_for_message(self.user.id, timeout=QUIET_WINDOW)
            except TimeoutError:
                break
            self.screen.show(sent)
            heard = True
        if press and finished and answer is None:
            self.screen.note(
                "(the bot left the press unanswered: the button would spin)", last=True
            )
        elif not heard:
            silence = "no reply" if finished else f"nothing within {FIRST_REPLY_WAIT:g} s"
            self.screen.note(f"({silence})", last=True)


class _Handled:
    """Which updates the bot has finished with: a handler in the last group sees each one."""

    def __init__(self, app: App) -> None:
        self._ids: set[int] = set()
        self._changed = asyncio.Condition()
        app.add_handler(TypeHandler(Update, self._record), group=LAST_GROUP)

    async def _record(self, update: Update, context: Context) -> None:
        async with self._changed:
            self._ids.add(update.update_id)
            self._changed.notify_all()

    async def wait(self, update_id: int, *, timeout: float) -> bool:  # noqa: ASYNC109 (a deadline)
        """Whether the bot finished with the update within `timeout` seconds."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: update_id in self._ids)
        except TimeoutError:
            return False
        self._ids.discard(update_id)
        return True


async def _read_line(stream: TextIO) -> str:
    """The next line, or "" at the end of input, read without blocking the event loop.

    A daemon thread rather than ``asyncio.to_thread``: asyncio.run joins its default executor on
    the way out, so Ctrl+C at the prompt would hang until Enter; a daemon thread is left behind.
    """
    loop = asyncio.get_running_loop()
    line: asyncio.Future[str] = loop.create_future()

    def read() -> None:
        result: str | Exception
        try:
            result = stream.readline()
        except Exception as error:  # handed to the awaiting task, which re-raises it
            result = error
        # RuntimeError: the loop closed while this thread waited (Ctrl+C), so nobody is waiting.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, line, result)

    threading.Thread(target=read, name="sandbox-input", daemon=True).start()
    return await line


def _settle(future: asyncio.Future[str], result: str | Exception) -> None:
    if future.done():
        return
    if isinstance(result, Exception):
        future.set_exception(result)
    else:
        future.set_result(result)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except ValueError:  # a closed stream
        return False


def _lines(text: str, entities: Sequence[Entity]) -> list[tuple[bool, list[_Cell]]]:
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

    lines: list[tuple[bool, list[_Cell]]] = []
    cells: list[_Cell] = []
    line_start = 0
    for position in range(len(text) + 1):
        for suffix in suffixes.get(position, ()):
            cells.extend((char, _DIM) for char in suffix)
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


def _layout(lines: list[tuple[bool, list[_Cell]]], *, color: bool, width: int | None) -> list[str]:
    out: list[str] = []
    for quoted, cells in lines:
        bar = [(char, _DIM) for char in _QUOTE_BAR] if quoted else []
        if width is None:
            rows = [cells]
        else:
            bullet = _BULLET.match("".join(char for char, _ in cells))
            rows = _wrap(cells, width - len(bar), hang=bullet.end() if bullet else 0)
        out.extend(_paint(_rstrip(bar + row), color=color) for row in rows)
    return out


def _wrap(cells: list[_Cell], width: int, *, hang: int = 0) -> list[list[_Cell]]:
    """Break at spaces to fit `width` columns, continuation rows indented by `hang`.

    A word longer than a row is cut.
    """
    hang = min(hang, width // 2)
    rows: list[list[_Cell]] = []
    row: list[_Cell] = []
    used, space, limit = 0, -1, width

    def finish(done: list[_Cell]) -> None:
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


def _rstrip(cells: list[_Cell]) -> list[_Cell]:
    end = len(cells)
    while end and cells[end - 1][0] == " ":
        end -= 1
    return cells[:end]


def _paint(cells: Sequence[_Cell], *, color: bool) -> str:
    if not color:
        return "".join(char for char, _ in cells)
    out: list[str] = []
    for codes, group in itertools.groupby(cells, key=lambda cell: cell[1]):
        text = "".join(char for char, _ in group)
        out.append(f"\x1b[{';'.join(sorted(codes))}m{text}\x1b[0m" if codes else text)
    return "".join(out)
