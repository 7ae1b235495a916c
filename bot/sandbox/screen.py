"""The sandbox's side of the terminal: its banner and notes, and the bot's messages with
their buttons numbered, in colour only for a real terminal.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TextIO

from bot.emulator import Button, CallbackAnswer, SentMessage
from bot.emulator.values import Document
from bot.sandbox.text import DIM, layout, paint, split_lines

PROMPT = "you › "
LABEL = "bot › "
INDENT = " " * len(LABEL)

# SGR codes of the sandbox's own bits of chrome.
_BOT = frozenset({"1", "32"})
YOU = frozenset({"1", "34"})
_NUMBER = frozenset({"1", "36"})
_TITLE = frozenset({"1"})


class Screen:
    """The terminal side: colour only for a real terminal, wrapping to its width."""

    def __init__(self, output: TextIO) -> None:
        self.output = output
        self.color = output.isatty() and not os.environ.get("NO_COLOR")
        self.started = False
        self._at_line_start = True
        # The prompt is out and the user has not pressed Enter: a message arriving meanwhile
        # goes below it, and the prompt is offered again under the message.
        self._prompting = False
        self.buttons = ButtonNumbers()

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

    def prompt(self) -> None:
        """Ask for the next line."""
        self.write(self.paint(PROMPT, YOU))
        self._prompting = True

    def typed(self, line: str, *, echo: bool) -> None:
        """The user pressed Enter; echo the line when no terminal did (piped input)."""
        self._prompting = False
        if echo:
            self.write(line)
        self._at_line_start = True

    def paint(self, text: str, codes: frozenset[str]) -> str:
        return paint([(char, codes) for char in text], color=self.color)

    @property
    def width(self) -> int | None:
        """Columns to wrap at, for a terminal; pipes and files get lines as they are."""
        if not self.color:
            return None
        try:
            return max(os.get_terminal_size(self.output.fileno()).columns, 40)
        except (OSError, ValueError, io.UnsupportedOperation):
            return 80

    def banner(self, database: Path, *, reset: bool, files: Path) -> None:
        """What the sandbox is, where its data lives, and how to use it."""
        self.started = True
        fresh = ["--reset: the sandbox's database was deleted and made anew."] if reset else []
        self.write(
            "\n".join(
                [
                    self.paint("coopbot sandbox", _TITLE)
                    + " — chat with the real bot in this terminal.",
                    "Offline: the bot talks to a Bot API emulator on this machine,",
                    f"with no token and no internet; its data is in {database}.",
                    *fresh,
                    "",
                    "  Type a message or a /command and press Enter (/help lists them).",
                    "  Every button shown has a number, [1], [2], …: type it to press the button,",
                    "  on the newest message or an earlier one.",
                    f"  Files the bot sends are saved in {files};",
                    "  /import PATH sends a file from this machine, as a curator uploads one.",
                    "  /quit, /exit or Ctrl+D leaves.",
                    "",
                    "",
                ]
            )
        )

    def note(self, text: str, *, last: bool = False) -> None:
        """The sandbox speaking, not the bot; `last` when nothing follows before the prompt."""
        self.write(INDENT + self.paint(text, DIM) + ("\n\n" if last else "\n"))

    def show(self, message: SentMessage, *, saved: Path | OSError | None = None) -> None:
        """A message the bot sent or edited, whenever it comes: at the prompt too; `saved` is
        where its file was saved, or why it could not be."""
        lines = split_lines(message.text, message.entities)
        if message.edits:
            quoted, cells = lines[0]
            lines[0] = (quoted, [(char, DIM) for char in "(edited) "] + cells)
        width = self.width
        body = layout(
            lines, color=self.color, width=None if width is None else width - len(INDENT)
        )
        if message.document is not None:
            body.append(self.paint(_attachment(message.document, saved), DIM))
        body.extend(self._keyboard(message))
        head = self.paint(LABEL, _BOT)
        self.end_line()
        self.write(
            "".join(
                f"{head if i == 0 else INDENT if line else ''}{line}\n"
                for i, line in enumerate(body)
            )
            + "\n"
        )
        if self._prompting:
            self.write(self.paint(PROMPT, YOU))

    def show_answer(self, answer: CallbackAnswer) -> None:
        """A button's toast or alert, which Telegram shows over the chat."""
        if not answer.text:
            return
        kind = "(alert) " if answer.show_alert else "(notice) "
        self.write(f"{self.paint(LABEL, _BOT)}{self.paint(kind, DIM)}{answer.text}\n\n")

    def _keyboard(self, message: SentMessage) -> list[str]:
        rows = []
        for row in message.buttons:
            labels = []
            for button in row:
                number = self.buttons.number(message, button)
                label = f"{self.paint(f'[{number}]', _NUMBER)} {button.text}"
                if button.url is not None:
                    label += self.paint(f" ({button.url})", DIM)
                labels.append(label)
            rows.append("  ".join(labels))
        return rows


class ButtonNumbers:
    """A number of its own for every button shown, so that a button of any message on the
    screen can be pressed, not only the newest message's: an edited message is shown again
    with new numbers for its buttons."""

    def __init__(self) -> None:
        self._shown: list[tuple[SentMessage, Button]] = []

    def number(self, message: SentMessage, button: Button) -> int:
        """The next number, for this button as this message shows it."""
        self._shown.append((message, button))
        return len(self._shown)

    def find(self, number: int) -> tuple[SentMessage, Button] | None:
        """The message (as it was shown) and button that `number` was given to."""
        return self._shown[number - 1] if 1 <= number <= len(self._shown) else None

    @property
    def count(self) -> int:
        """How many buttons have been shown: they are [1] to [count]."""
        return len(self._shown)


def _attachment(document: Document, saved: Path | OSError | None) -> str:
    line = f"📎 {document.filename}"
    if not document.content:
        return f"{line} (sent as a link: nothing to save)"
    line += f" ({len(document.content)} bytes)"
    if isinstance(saved, OSError):
        return f"{line}, not saved: {saved.strerror or saved}"
    return line if saved is None else f"{line}, saved as {saved}"
