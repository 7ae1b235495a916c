"""The emulator's values: what it hands tests and the sandbox, and the errors PTB sees.

A SentMessage is frozen, the message as it stood after one send or edit, so a test can keep it
and compare it with what came later; only Call and Stats change, as the server records calls.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Self, TypeAlias

from bot.emulator.telegram_html import Entity

JsonDict: TypeAlias = dict[str, object]


class ApiError(Exception):
    """A Bot API error answer: raised by a method, or injected as a fault, it is what PTB gets."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    @classmethod
    def bad_request(cls, reason: str) -> Self:
        """A 400 with Telegram's "Bad Request: " prefix."""
        return cls(400, f"Bad Request: {reason}")

    @classmethod
    def blocked(cls) -> Self:
        """What Telegram answers for a user who blocked the bot."""
        return cls(403, "Forbidden: bot was blocked by the user")

    @classmethod
    def chat_not_found(cls) -> Self:
        """What Telegram answers for a chat the bot cannot see."""
        return cls.bad_request("chat not found")

    @classmethod
    def too_many_requests(cls, retry_after: int) -> Self:
        """Flood control, with the wait PTB turns into RetryAfter."""
        return cls(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)

    @classmethod
    def migrated(cls, new_chat_id: int) -> Self:
        """A group that became a supergroup, which PTB turns into ChatMigrated."""
        return cls(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            migrate_to_chat_id=new_chat_id,
        )

    def copy(self) -> "ApiError":
        """A fresh instance, so a fault injected once can be raised many times."""
        return ApiError(
            self.status,
            self.description,
            retry_after=self.retry_after,
            migrate_to_chat_id=self.migrate_to_chat_id,
        )

    def to_json(self) -> JsonDict:
        """The response body, shaped like Telegram's."""
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        elif self.migrate_to_chat_id is not None:
            body["parameters"] = {"migrate_to_chat_id": self.migrate_to_chat_id}
        return body


@dataclass(frozen=True)
class User:
    """A Telegram account the emulator knows; the bot is one too."""

    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_json(self) -> JsonDict:
        """The Bot API User object."""
        data: JsonDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name is not None:
            data["last_name"] = self.last_name
        if self.username is not None:
            data["username"] = self.username
        if self.language_code is not None:
            data["language_code"] = self.language_code
        return data


@dataclass(frozen=True)
class Chat:
    """A private chat (its id is the user's) or a group (negative id) with its administrators."""

    id: int
    type: str
    title: str | None = None
    first_name: str | None = None
    username: str | None = None
    admin_ids: frozenset[int] = frozenset()

    @property
    def is_private(self) -> bool:
        """Whether this is a one-to-one chat with a user."""
        return self.type == "private"

    def to_json(self) -> JsonDict:
        """The Bot API Chat object."""
        data: JsonDict = {"id": self.id, "type": self.type}
        if self.title is not None:
            data["title"] = self.title
        if self.first_name is not None:
            data["first_name"] = self.first_name
        if self.username is not None:
            data["username"] = self.username
        return data


ChatRef: TypeAlias = Chat | User | int
"""A chat, or a user standing for their private chat, or a chat id."""


@dataclass(frozen=True)
class Button:
    """One inline keyboard button: its label and the callback data or URL behind it."""

    text: str
    callback_data: str | None = None
    url: str | None = None


Keyboard: TypeAlias = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request, as the bot uploaded it."""

    filename: str
    content: bytes
    content_type: str | None = None


@dataclass(frozen=True)
class Document:
    """A file the bot sent; content is empty when it sent a URL rather than bytes."""

    file_id: str
    file_unique_id: str
    filename: str
    content: bytes
    mime_type: str | None = None

    def to_json(self) -> JsonDict:
        """The Bot API Document object."""
        data: JsonDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.filename,
            "file_size": len(self.content),
        }
        if self.mime_type is not None:
            data["mime_type"] = self.mime_type
        return data


@dataclass(frozen=True)
class SentMessage:
    """A bot message as it stood after one send or edit; a document's caption is its text."""

    chat_id: int
    message_id: int
    date: int
    html: str
    text: str
    entities: list[Entity]
    parse_mode: str | None
    reply_markup: JsonDict | None
    buttons: Keyboard
    document: Document | None = None
    edits: int = 0
    edit_date: int | None = None
    # The forum topic it was sent to; None for the chat itself (a forum's General topic).
    thread_id: int | None = None

    @property
    def button_labels(self) -> list[str]:
        """Every inline button's text, row by row."""
        return [button.text for row in self.buttons for button in row]

    def find_button(self, label_or_data: str) -> Button:
        """The button with this callback data, or else this text; LookupError if there is none."""
        buttons = [button for row in self.buttons for button in row]
        for button in buttons:
            if button.callback_data == label_or_data:
                return button
        for button in buttons:
            if button.text == label_or_data:
                return button
        raise LookupError(
            f"message {self.message_id} in chat {self.chat_id} has no button "
            f"{label_or_data!r}; its buttons are {self.button_labels}"
        )


@dataclass
class Call:
    """One request the bot made, its decoded parameters, and the error it got, if any."""

    method: str
    params: dict[str, object]
    error: str | None = None


@dataclass(frozen=True)
class CallbackAnswer:
    """How the bot answered a button press."""

    text: str | None
    show_alert: bool
    url: str | None


@dataclass
class Stats:
    """Counters for benchmarks and for tests about delivery."""

    calls: Counter[str] = field(default_factory=Counter)
    unknown_methods: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    too_many_requests: int = 0
