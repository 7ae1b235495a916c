"""``coopbot sandbox``: a terminal chat with the real bot, offline.

The whole bot (PTB, handlers, storage) runs unchanged against the Bot API emulator on loopback and
on a database of its own beside the configured one, so trying it needs no token and no network,
and never touches the data of a bot that runs for real.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import sys
import threading
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import make_url
from telegram import Update
from telegram.ext import TypeHandler

from bot.app import build_app
from bot.clock import Clock
from bot.context import App, Context
from bot.emulator import BotApiEmulator, SentMessage, User
from bot.logs import Secret
from bot.runtime import open_database, serving, sync
from bot.sandbox.files import (
    Downloads,
    database_path,
    default_files_folder,
    remove_database,
    typed_path,
)
from bot.sandbox.screen import Screen
from bot.sandbox.text import DIM
from bot.settings import Settings

# Shaped like a real token so PTB accepts it; it never leaves the loopback emulator.
SANDBOX_TOKEN = "1000000:SANDBOX-offline-never-sent-anywhere"
SANDBOX_USER_ID = 100001
QUIT_COMMANDS = frozenset({"/quit", "/exit"})
# The sandbox's stand-in for attaching a file in Telegram: a path on this machine.
_IMPORT = re.compile(r"/import(?:@\w+)?(?:\s+(?P<path>.+))?", re.IGNORECASE)
IMPORT_HINT = "In the sandbox, /import PATH sends a file from this machine."
# How long the bot may take over one update, and how long it must then stay quiet (messages sent
# outside the handler, e.g. by a job) before the prompt comes back: UI pacing, nothing more.
FIRST_REPLY_WAIT = 5.0
QUIET_WINDOW = 0.3
# After every feature's group, so the sandbox learns when the bot is done with an update.
LAST_GROUP = 1_000


async def run_sandbox(
    settings: Settings,
    *,
    input_stream: TextIO | None = None,
    output: TextIO | None = None,
    admin: bool = False,
    reset: bool = False,
    files: Path | None = None,
    clock: Clock | None = None,
) -> None:
    """Chat with the bot through the emulator until /quit, /exit, end of input or Ctrl+C.

    `reset` deletes the sandbox's database first, so it starts as on a fresh checkout. The
    files the bot sends are saved in `files` (by default sandbox-files/ beside the database).
    `clock` is the bot's sense of now (tests set it to make a reminder fall due). Raises
    ``ContentError`` (before the chat starts) when content/ has problems.
    """
    stream = input_stream if input_stream is not None else sys.stdin
    screen = Screen(output if output is not None else sys.stdout)
    storage_url = sandbox_storage_url(settings.storage_url)
    database_file = database_path(storage_url)
    if reset:
        remove_database(database_file)
    downloads = Downloads(files if files is not None else default_files_folder(database_file))
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
                await sync(sandbox, database.sessions, now=clock.now() if clock else None)
                app = build_app(sandbox, database.sessions, clock=clock)
                handled = _Handled(app)
                async with serving(app):
                    screen.banner(database_file.resolve(), reset=reset, files=downloads.folder)
                    user = emulator.user(SANDBOX_USER_ID, "You", language_code="en")
                    await _Conversation(emulator, handled, user, screen, downloads).run(stream)
    finally:
        if screen.started:
            screen.end_line()
            screen.write(screen.paint("Sandbox closed.", DIM) + "\n")


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


class _Conversation:
    """The sandbox user's side of the chat: read a line and act on it, while everything the bot
    says here is shown as it comes, the user typing or not."""

    def __init__(
        self,
        emulator: BotApiEmulator,
        handled: _Handled,
        user: User,
        screen: Screen,
        downloads: Downloads,
    ) -> None:
        self.emulator = emulator
        self.handled = handled
        self.user = user
        self.screen = screen
        self.downloads = downloads
        self.shown = 0
        self._arrived = asyncio.Event()

    async def run(self, stream: TextIO) -> None:
        """Until /quit, /exit or the end of input."""
        watching = asyncio.create_task(self._watch(), name="sandbox: the bot's messages")
        try:
            await self._talk(stream)
        finally:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)

    async def _watch(self) -> None:
        """Show each message the bot sends or edits here: replies, and what a job sends."""
        while True:
            message = await self.emulator.wait_for_message(self.user.id, timeout=None)
            self.screen.show(message, saved=await asyncio.to_thread(self._save, message))
            self.shown += 1
            self._arrived.set()

    def _save(self, message: SentMessage) -> Path | OSError | None:
        """Where the message's file is saved, or why it could not be; None for no file."""
        document = message.document
        if document is None or not document.content:
            return None
        try:
            return self.downloads.save(document)
        except OSError as error:
            return error

    async def _talk(self, stream: TextIO) -> None:
        echo = not _isatty(stream)
        while True:
            self.screen.prompt()
            line = await _read_line(stream)
            if not line:
                return
            self.screen.typed(line if line.endswith("\n") else f"{line}\n", echo=echo)
            text = line.strip()
            if not text:
                continue
            if text.lower() in QUIT_COMMANDS:
                return
            await self._act(text)

    async def _act(self, text: str) -> None:
        """A number presses a button, /import PATH sends a file, the rest goes to the bot."""
        command = _IMPORT.fullmatch(text)
        if text.isascii() and text.isdigit():
            await self.press(int(text))
        elif command is not None and command["path"]:
            await self.upload(typed_path(command["path"]))
        else:
            update_id = self.emulator.send_message(self.user.id, self.user, text)
            await self.show_replies(update_id)
            if command is not None:  # /import alone: the bot explains a caption to attach
                self.screen.note(IMPORT_HINT, last=True)

    async def upload(self, path: Path) -> None:
        """Send a file from this machine captioned /import, as a curator uploads content."""
        try:
            content = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            self.screen.note(f"There is no file at {path}.", last=True)
            return
        except IsADirectoryError:
            self.screen.note(
                f"{path} is a folder: /import sends one file, e.g. a zip from /export.", last=True
            )
            return
        except OSError as error:
            self.screen.note(f"{path} cannot be read: {error.strerror or error}.", last=True)
            return
        self.screen.note(f"(sent {path.name}, {len(content)} bytes, captioned /import)")
        update_id = self.emulator.send_document(
            self.user.id, self.user, path.name, content, caption="/import"
        )
        await self.show_replies(update_id)

    async def press(self, number: int) -> None:
        """Press the button shown as [number], on whichever message it is."""
        shown = self.screen.buttons.find(number)
        if shown is None:
            self.screen.note(self._no_button(number), last=True)
            return
        message, button = shown
        if button.callback_data is None:
            self.screen.note(
                f"“{button.text}” is a link: open {button.url} in a browser.", last=True
            )
            return
        current = self._current(message)
        if current is None or button not in (b for row in current.buttons for b in row):
            since = "deleted that message" if current is None else "changed that message since"
            self.screen.note(f"“{button.text}” is gone: the bot {since}.", last=True)
            return
        self.screen.note(f"(pressed “{button.text}”)")
        update_id = self.emulator.press_button(current, button.callback_data, self.user)
        await self.show_replies(update_id, press=True)

    def _no_button(self, number: int) -> str:
        count = self.screen.buttons.count
        if not count:
            return "No message has buttons yet. (To search for a number: /search 2023)"
        shown = "just [1]" if count == 1 else f"[1] to [{count}]"
        return f"There is no button [{number}]: the buttons shown are {shown}."

    def _current(self, message: SentMessage) -> SentMessage | None:
        """The message as it stands now; None once the bot has deleted it."""
        now = {m.message_id: m for m in self.emulator.messages(self.user.id)}
        return now.get(message.message_id)

    async def show_replies(self, update_id: int, *, press: bool = False) -> None:
        """Wait until the bot is done with one update and quiet, then say what it left unsaid."""
        shown = self.shown
        finished = await self.handled.wait(update_id, timeout=FIRST_REPLY_WAIT)
        answer = self.emulator.callback_answer(update_id) if press else None
        if answer is not None:
            self.screen.show_answer(answer)
        await self._quiet()
        heard = self.shown > shown or bool(answer and answer.text)
        if press and finished and answer is None:
            self.screen.note(
                "(the bot left the press unanswered: the button would spin)", last=True
            )
        elif not heard:
            silence = "no reply" if finished else f"nothing within {FIRST_REPLY_WAIT:g} s"
            self.screen.note(f"({silence})", last=True)

    async def _quiet(self) -> None:
        """Until the bot has said nothing for QUIET_WINDOW: what a job sends just after a reply
        comes before the prompt rather than under it."""
        while True:
            self._arrived.clear()
            try:
                async with asyncio.timeout(QUIET_WINDOW):
                    await self._arrived.wait()
            except TimeoutError:
                return


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
