"""A Telegram Bot API server on loopback: tests and the sandbox run the real PTB stack over HTTP.

It keeps users, chats, the bot's messages and the update queue in memory, answers the methods
the bot uses the way Telegram does (its errors included), and lets the caller inject user
actions, faults and rate limits, then wait for the bot's answers without sleeping.
"""

import asyncio
import contextlib
import itertools
import json
import math
import re
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Self, TypeAlias

from aiohttp import BodyPartReader, hdrs, web

from bot import telegram_html
from bot.telegram_html import Entity, TelegramHtmlError

JsonDict: TypeAlias = dict[str, object]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

# Parameters arrive as strings; these are the ones whose meaning is not a string.
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "menu_button",
        "media",
    }
)
_INT_FIELDS = frozenset(
    {
        "chat_id",
        "message_id",
        "from_chat_id",
        "user_id",
        "offset",
        "limit",
        "message_thread_id",
        "cache_time",
        "reply_to_message_id",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "show_alert",
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "disable_content_type_detection",
    }
)
_INTEGER = re.compile(r"-?\d+")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")
_BOT_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
# What Telegram sends when a bot never chose; chat_member and reactions need opting in.
_DEFAULT_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
_SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_RATE_LIMITED = frozenset({"sendMessage", "sendDocument"})
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"


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


@dataclass(frozen=True)
class RateLimits:
    """Telegram's published send limits, enforced as strict sliding windows; None turns one off."""

    per_second: int | None = 30
    per_chat_per_second: int | None = 1
    per_group_per_minute: int | None = 20


@dataclass
class Stats:
    """Counters for benchmarks and for tests about delivery."""

    calls: Counter[str] = field(default_factory=Counter)
    unknown_methods: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    too_many_requests: int = 0


class _Signal:
    """Wakes everyone waiting at once; synchronous to pulse, so plain methods can announce."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def pulse(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, ready: Callable[[], bool]) -> None:
        """Return once ready() holds, rechecking it at every pulse."""
        while not ready():
            await self._event.wait()


@dataclass
class _ChatState:
    chat: Chat
    messages: dict[int, SentMessage] = field(default_factory=dict)
    incoming: set[int] = field(default_factory=set)
    log: list[SentMessage] = field(default_factory=list)
    cursor: int = 0
    last_message_id: int = 0
    changed: _Signal = field(default_factory=_Signal)

    def take_message_id(self) -> int:
        self.last_message_id += 1
        return self.last_message_id


@dataclass
class _Fault:
    method: str
    error: ApiError
    remaining: int
    chat_id: int | None


@dataclass
class _PendingCallback:
    update_id: int
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    answer: CallbackAnswer | None = None


class _Params:
    """Decoded request parameters, read with the checks Telegram applies to them."""

    def __init__(self, values: dict[str, object]) -> None:
        self.values = values

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, Upload):
            raise ApiError.bad_request(f"{name} must be a string")
        return json.dumps(value)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, str) and _INTEGER.fullmatch(value):
            return int(value)
        raise ApiError.bad_request(f"invalid {name} specified")

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if isinstance(value, str) and _NUMBER.fullmatch(value):
            return float(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.lower() in {"true", "1"}
        return value is True

    def json(self, name: str) -> object:
        value = self.values.get(name)
        return _decode_field(name, value) if isinstance(value, str) else value

    def chat_id(self) -> int:
        value = self.values.get("chat_id")
        if value is None or value == "":
            raise ApiError.bad_request("chat_id is empty")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INTEGER.fullmatch(value):
            return int(value)
        raise ApiError.chat_not_found()

    def message_id(self) -> int:
        message_id = self.integer("message_id")
        if message_id is None:
            raise ApiError.bad_request("message identifier is not specified")
        return message_id


_Method: TypeAlias = Callable[[_Params], Awaitable[object]]


class BotApiEmulator:
    """The Bot API for one bot token, served over HTTP on 127.0.0.1 at a free port."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_name: str = "Coop Bot",
        bot_username: str = "coop_test_bot",
        rate_limits: RateLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        bot_id, _, secret = token.partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError("a bot token looks like '123456:secret'")
        self.token = token
        self.bot = User(int(bot_id), bot_name, username=bot_username, is_bot=True)
        self.calls: list[Call] = []
        self.stats = Stats()
        self._rate_limits = rate_limits
        self._clock = clock
        self._users: dict[int, User] = {}
        self._chats: dict[int, _ChatState] = {}
        self._updates: deque[tuple[int, JsonDict]] = deque()
        self._update_ids = itertools.count(1)
        self._updates_arrived = _Signal()
        self._call_made = _Signal()
        self._allowed_updates = _DEFAULT_UPDATES
        self._poll_generation = 0
        self._closing = False
        self._callbacks: dict[str, _PendingCallback] = {}
        self._callback_ids: dict[int, str] = {}
        self._faults: list[_Fault] = []
        self._blocked: set[int] = set()
        self._windows: dict[tuple[str, int], deque[float]] = {}
        self._commands: dict[tuple[str, str], list[JsonDict]] = {}
        self._bot_texts: dict[tuple[str, str], str] = {}
        self._documents: dict[str, Document] = {}
        self._file_numbers = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        handlers: dict[str, _Method] = {
            "getMe": self._get_me,
            "logOut": self._accept,
            "close": self._accept,
            "deleteWebhook": self._delete_webhook,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "setMyDescription": self._bot_text_setter("description", 512),
            "getMyDescription": self._bot_text_getter("description"),
            "setMyShortDescription": self._bot_text_setter("short_description", 120),
            "getMyShortDescription": self._bot_text_getter("short_description"),
            "setMyName": self._bot_text_setter("name", 64),
            "getMyName": self._bot_text_getter("name"),
            "setChatMenuButton": self._accept,
        }
        # Telegram matches method names case-insensitively.
        self._methods = {name.lower(): (name, handler) for name, handler in handlers.items()}
        self._sending = frozenset(
            name for name in handlers if name.startswith(("send", "edit", "copy", "forward"))
        )

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What `ApplicationBuilder().base_url(...)` and `Bot(base_url=...)` take."""
        return f"{self._origin}/bot"

    @property
    def base_file_url(self) -> str:
        """What `ApplicationBuilder().base_file_url(...)` takes, for downloading sent files."""
        return f"{self._origin}/file/bot"

    @property
    def _origin(self) -> str:
        if self._port is None:
            raise RuntimeError("the emulator is not running; await start() first")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._serve_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._serve_file)
        app.router.add_route("*", "/{tail:.*}", self._serve_unknown)
        # A bot that gives up on a long poll disconnects; cancelling its handler frees it.
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=2.0
        )
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self._port = int(runner.addresses[0][1])
        self._runner = runner
        self._closing = False

    async def stop(self) -> None:
        """Answer pending long polls with no updates, then close every connection."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        self._updates_arrived.pulse()
        await runner.cleanup()

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
    ) -> User:
        """Register a user and their private chat with the bot."""
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = User(user_id, first_name, username, last_name, language_code)
        self._users[user_id] = user
        self._register(Chat(user_id, "private", first_name=first_name, username=username))
        return user

    def group(
        self,
        chat_id: int,
        title: str = "Test group",
        *,
        supergroup: bool = True,
        admins: Iterable[User | int] = (),
    ) -> Chat:
        """Register a group or supergroup; `admins` are what getChatAdministrators reports."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        admin_ids = frozenset(admin if isinstance(admin, int) else admin.id for admin in admins)
        kind = "supergroup" if supergroup else "group"
        return self._register(Chat(chat_id, kind, title=title, admin_ids=admin_ids))

    def chat(self, chat_id: int) -> Chat:
        """A registered chat."""
        return self._state(chat_id).chat

    def private_chat(self, user: User, *, timeout: float = 5.0) -> "ChatSession":
        """The user's side of their private chat with the bot."""
        return ChatSession(self, self.chat(user.id), user, timeout=timeout)

    def group_chat(self, group: Chat, user: User, *, timeout: float = 5.0) -> "ChatSession":
        """One member's side of a group chat."""
        return ChatSession(self, self.chat(group.id), user, timeout=timeout)

    def send_message(self, chat: ChatRef, user: User | int, text: str) -> int:
        """Queue a user's text message; a leading /command gets its bot_command entity."""
        state = self._state(chat)
        sender = self._user(user)
        message_id = state.take_message_id()
        state.incoming.add(message_id)
        message: JsonDict = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": state.chat.to_json(),
            "from": sender.to_json(),
            "text": text,
        }
        command = _COMMAND.match(text)
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        return self._push_update("message", message)

    def press_button(self, message: SentMessage, button: str, user: User | int) -> int:
        """Queue a press on a button of a message the bot sent; LookupError if it has none."""
        state = self._state(message.chat_id)
        current = state.messages.get(message.message_id)
        if current is None:
            raise LookupError(f"chat {message.chat_id} has no message {message.message_id}")
        target = current.find_button(button)
        if target.callback_data is None:
            raise LookupError(f"button {target.text!r} opens {target.url}; it sends no callback")
        update_id = next(self._update_ids)
        query_id = str(10**9 + update_id)
        query: JsonDict = {
            "id": query_id,
            "from": self._user(user).to_json(),
            "chat_instance": str(state.chat.id),
            "data": target.callback_data,
            "message": self._message_json(current),
        }
        self._callbacks[query_id] = _PendingCallback(update_id)
        self._callback_ids[update_id] = query_id
        return self._push_update("callback_query", query, update_id=update_id)

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        return len(self._updates)

    def messages(self, chat: ChatRef) -> list[SentMessage]:
        """The bot's messages in a chat as they stand now, oldest first, deleted ones left out."""
        return list(self._state(chat).messages.values())

    def history(self, chat: ChatRef) -> list[SentMessage]:
        """Every send and edit the bot made in a chat, in order."""
        return list(self._state(chat).log)

    def skip_unread(self, chat: ChatRef) -> None:
        """Move the chat's read cursor past everything the bot has sent so far."""
        state = self._state(chat)
        state.cursor = len(state.log)

    # A built-in deadline means a silent bot fails the test with a report instead of hanging it.
    async def wait_for_message(
        self,
        chat: ChatRef,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> SentMessage:
        """The next bot message (new or edited) after the chat's read cursor, which moves on."""
        state = self._state(chat)
        while True:
            try:
                async with asyncio.timeout(timeout):
                    await state.changed.wait_until(lambda: state.cursor < len(state.log))
            except TimeoutError:
                raise TimeoutError(self._silence_report(state.chat.id, timeout)) from None
            if state.cursor < len(state.log):
                state.cursor += 1
                return state.log[state.cursor - 1]

    def callback_answer(self, update_id: int) -> CallbackAnswer | None:
        """How the bot answered the press injected as `update_id`, if it has."""
        return self._pending_callback(update_id).answer

    async def wait_for_callback_answer(
        self,
        update_id: int,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 (a deadline, as in wait_for_message)
    ) -> CallbackAnswer:
        """Wait until the bot answers the press injected as `update_id`."""
        pending = self._pending_callback(update_id)
        try:
            async with asyncio.timeout(timeout):
                await pending.answered.wait()
        except TimeoutError:
            raise TimeoutError(f"callback {update_id} not answered within {timeout}s") from None
        assert pending.answer is not None
        return pending.answer

    def unanswered_callbacks(self) -> list[int]:
        """Update ids of presses the bot has not answered with answerCallbackQuery."""
        return [p.update_id for p in self._callbacks.values() if p.answer is None]

    async def wait_for_call(
        self,
        method: str,
        *,
        after: int = 0,
        timeout: float = 5.0,  # noqa: ASYNC109 (a deadline, as in wait_for_message)
    ) -> Call:
        """The first call of `method` at index `after` or later in `calls`, once it arrives."""
        position = after

        def arrived() -> bool:
            nonlocal position
            while position < len(self.calls) and self.calls[position].method != method:
                position += 1
            return position < len(self.calls)

        try:
            async with asyncio.timeout(timeout):
                await self._call_made.wait_until(arrived)
        except TimeoutError:
            raise TimeoutError(f"no {method} call within {timeout}s") from None
        return self.calls[position]

    def calls_to(self, method: str) -> list[Call]:
        """The recorded calls of one method."""
        return [call for call in self.calls if call.method == method]

    def commands(
        self, scope: Mapping[str, object] | None = None, language_code: str = ""
    ) -> list[tuple[str, str]]:
        """The (command, description) pairs set for exactly this scope and language."""
        stored = self._commands.get((_scope_key(scope), language_code), [])
        return [(str(item["command"]), str(item["description"])) for item in stored]

    def bot_text(self, kind: str, language_code: str = "") -> str:
        """The bot's "description", "short_description" or "name" for a language."""
        return self._bot_texts.get((kind, language_code), "")

    def fail(
        self, method: str, error: ApiError, *, times: int = 1, chat_id: int | None = None
    ) -> None:
        """Answer the next `times` calls of `method` (to `chat_id` only, if given) with `error`."""
        entry = self._methods.get(method.lower())
        if entry is None:
            raise ValueError(f"the emulator does not implement {method}")
        if times < 1:
            raise ValueError("times must be at least 1")
        self._faults.append(_Fault(entry[0], error, times, chat_id))

    def block(self, chat: ChatRef) -> None:
        """Make every send to this chat fail with 403 until unblock()."""
        self._blocked.add(self._state(chat).chat.id)

    def unblock(self, chat: ChatRef) -> None:
        """Let sends to this chat through again."""
        self._blocked.discard(self._state(chat).chat.id)

    def _register(self, chat: Chat) -> Chat:
        state = self._chats.get(chat.id)
        if state is None:
            self._chats[chat.id] = _ChatState(chat)
        else:
            state.chat = chat
        return chat

    def _state(self, chat: ChatRef) -> _ChatState:
        chat_id = chat if isinstance(chat, int) else chat.id
        state = self._chats.get(chat_id)
        if state is None:
            raise LookupError(f"chat {chat_id} is not registered; use user() or group() first")
        return state

    def _user(self, user: User | int) -> User:
        if isinstance(user, User):
            return user
        known = self._users.get(user)
        if known is None:
            raise LookupError(f"user {user} is not registered; use user() first")
        return known

    def _pending_callback(self, update_id: int) -> _PendingCallback:
        query_id = self._callback_ids.get(update_id)
        if query_id is None:
            raise LookupError(f"update {update_id} is not a button press")
        return self._callbacks[query_id]

    def _push_update(self, kind: str, payload: JsonDict, *, update_id: int | None = None) -> int:
        if update_id is None:
            update_id = next(self._update_ids)
        # Telegram never creates updates of a kind the bot did not ask for.
        if kind in self._allowed_updates:
            self._updates.append((update_id, {"update_id": update_id, kind: payload}))
            self._updates_arrived.pulse()
        return update_id

    def _silence_report(self, chat_id: int, timeout: float) -> str:
        recent = "; ".join(
            f"{call.method}{' -> ' + call.error if call.error else ''}" for call in self.calls[-6:]
        )
        return f"no new bot message in chat {chat_id} within {timeout}s (recent calls: {recent})"

    async def _serve_method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error_response(ApiError(401, "Unauthorized"))
        entry = self._methods.get(request.match_info["method"].lower())
        if entry is None:
            self.stats.unknown_methods[request.match_info["method"]] += 1
            return self._error_response(ApiError(404, "Not Found"))
        name, method = entry
        self.stats.calls[name] += 1
        try:
            values = await _read_params(request)
        except ApiError as error:
            self._log_call(Call(name, {}, error.description))
            return self._error_response(error)
        call = self._log_call(Call(name, values))
        try:
            params = _Params(values)
            self._apply_faults(name, params)
            result = await method(params)
        except ApiError as error:
            call.error = error.description
            return self._error_response(error)
        return web.json_response({"ok": True, "result": result})

    def _log_call(self, call: Call) -> Call:
        self.calls.append(call)
        self._call_made.pulse()
        return call

    async def _serve_file(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["path"].rpartition("/")[2]
        document = self._documents.get(file_id)
        if request.match_info["token"] != self.token or document is None:
            return self._error_response(ApiError(404, "Not Found"))
        return web.Response(body=document.content, content_type="application/octet-stream")

    async def _serve_unknown(self, request: web.Request) -> web.Response:
        return self._error_response(ApiError(404, "Not Found"))

    def _error_response(self, error: ApiError) -> web.Response:
        self.stats.errors[error.status] += 1
        if error.status == 429:
            self.stats.too_many_requests += 1
        return web.json_response(error.to_json(), status=error.status)

    def _apply_faults(self, method: str, params: _Params) -> None:
        chat_id = params.values.get("chat_id")
        for fault in self._faults:
            if fault.method == method and fault.chat_id in (None, chat_id):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                raise fault.error.copy()
        if method not in self._sending or not isinstance(chat_id, int):
            return
        if chat_id in self._blocked:
            raise self._blocked_error(chat_id)
        if self._rate_limits is not None and method in _RATE_LIMITED:
            self._take_rate_slot(self._rate_limits, chat_id)

    def _blocked_error(self, chat_id: int) -> ApiError:
        kind = self._chats[chat_id].chat.type if chat_id in self._chats else "private"
        if kind == "private":
            return ApiError.blocked()
        return ApiError(403, f"Forbidden: bot was kicked from the {kind} chat")

    def _take_rate_slot(self, limits: RateLimits, chat_id: int) -> None:
        now = self._clock()
        windows = [
            (("all", 0), limits.per_second, 1.0),
            (("chat", chat_id), limits.per_chat_per_second, 1.0),
        ]
        if chat_id < 0:
            windows.append((("group", chat_id), limits.per_group_per_minute, 60.0))
        wait = 0.0
        active: list[deque[float]] = []
        for key, limit, span in windows:
            if limit is None:
                continue
            stamps = self._windows.setdefault(key, deque())
            while stamps and stamps[0] <= now - span:
                stamps.popleft()
            if len(stamps) >= limit:
                wait = max(wait, stamps[len(stamps) - limit] + span - now)
            active.append(stamps)
        if wait > 0:
            raise ApiError.too_many_requests(max(1, math.ceil(wait)))
        for stamps in active:
            stamps.append(now)

    def _target(self, params: _Params) -> _ChatState:
        state = self._chats.get(params.chat_id())
        if state is None:
            raise ApiError.chat_not_found()
        return state

    def _record(self, state: _ChatState, message: SentMessage) -> JsonDict:
        state.messages[message.message_id] = message
        state.log.append(message)
        state.changed.pulse()
        return self._message_json(message)

    def _message_json(self, message: SentMessage) -> JsonDict:
        data: JsonDict = {
            "message_id": message.message_id,
            "from": self.bot.to_json(),
            "chat": self._chats[message.chat_id].chat.to_json(),
            "date": message.date,
        }
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        text_key, entities_key = "text", "entities"
        if message.document is not None:
            data["document"] = message.document.to_json()
            text_key, entities_key = "caption", "caption_entities"
        if message.text:
            data[text_key] = message.text
        if message.entities:
            data[entities_key] = message.entities
        # Telegram echoes inline keyboards only; reply keyboards never show up in a Message.
        if message.reply_markup is not None and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup
        return data

    def _formatted(
        self, params: _Params, field_name: str, entities_field: str, *, caption: bool
    ) -> tuple[str, str, list[Entity]]:
        raw = params.text(field_name) or ""
        parse_mode = params.text("parse_mode") or ""
        if parse_mode.lower() == "html":
            try:
                text, entities = telegram_html.parse(raw)
            except TelegramHtmlError as error:
                raise ApiError.bad_request(f"can't parse entities: {error}") from None
        elif not parse_mode:
            text, entities = raw, _client_entities(params.json(entities_field))
        else:
            raise ApiError.bad_request(
                f"the emulator supports parse_mode HTML only, not {parse_mode}"
            )
        text, entities = telegram_html.trim(text, entities)
        if not text and not caption:
            raise ApiError.bad_request("message text is empty")
        limit = MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH
        if telegram_html.utf16_length(text) > limit:
            raise ApiError.bad_request(
                "message caption is too long" if caption else "message is too long"
            )
        return raw, text, [self._with_user(entity) for entity in entities]

    def _with_user(self, entity: Entity) -> Entity:
        if entity["type"] != "text_mention" or "user" not in entity:
            return entity
        user_id = entity["user"].get("id")
        if not isinstance(user_id, int):
            return entity
        user = self._users.get(user_id) or User(user_id, str(user_id))
        return {**entity, "user": user.to_json()}

    async def _accept(self, params: _Params) -> object:
        return True

    async def _get_me(self, params: _Params) -> object:
        return {
            **self.bot.to_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _delete_webhook(self, params: _Params) -> object:
        if params.flag("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_updates(self, params: _Params) -> object:
        offset = params.integer("offset") or 0
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(params.number("timeout") or 0.0, 0.0)
        allowed = params.json("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(kind) for kind in allowed) or _DEFAULT_UPDATES
        if offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
        else:
            while self._updates and self._updates[0][0] < offset:
                self._updates.popleft()

        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_arrived.pulse()

        def ready() -> bool:
            return bool(self._updates) or self._closing or generation != self._poll_generation

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._updates_arrived.wait_until(ready)
        if self._closing:
            return []
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        return [update for _, update in itertools.islice(self._updates, limit)]

    async def _send_message(self, params: _Params) -> object:
        return self._send(params, "text", "entities", caption=False)

    async def _send_document(self, params: _Params) -> object:
        return self._send(params, "caption", "caption_entities", caption=True)

    def _send(
        self, params: _Params, text_field: str, entities_field: str, *, caption: bool
    ) -> object:
        """A new message in the target chat: a text, or a document with its caption."""
        state = self._target(params)
        document = self._document(params) if caption else None
        raw, text, entities = self._formatted(params, text_field, entities_field, caption=caption)
        markup, buttons = _reply_markup(params)
        message = SentMessage(
            chat_id=state.chat.id,
            message_id=state.take_message_id(),
            date=int(time.time()),
            html=raw,
            text=text,
            entities=entities,
            parse_mode=params.text("parse_mode"),
            reply_markup=markup,
            buttons=buttons,
            document=document,
        )
        return self._record(state, message)

    def _document(self, params: _Params) -> Document:
        value = params.values.get("document")
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.values.get(value.removeprefix("attach://"))
        if isinstance(value, Upload):
            number = next(self._file_numbers)
            document = Document(
                f"DOC{number:06d}",
                f"U{number:06d}",
                value.filename,
                value.content,
                value.content_type,
            )
            self._documents[document.file_id] = document
            return document
        if isinstance(value, str) and value in self._documents:
            return self._documents[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            number = next(self._file_numbers)
            name = value.rstrip("/").rpartition("/")[2] or "file"
            return Document(f"DOC{number:06d}", f"U{number:06d}", name, b"")
        if value is None:
            raise ApiError.bad_request("there is no document in the request")
        raise ApiError.bad_request("wrong file identifier/HTTP URL specified")

    async def _get_file(self, params: _Params) -> object:
        document = self._documents.get(params.text("file_id") or "")
        if document is None:
            raise ApiError.bad_request("invalid file_id")
        return {
            "file_id": document.file_id,
            "file_unique_id": document.file_unique_id,
            "file_size": len(document.content),
            "file_path": f"documents/{document.file_id}",
        }

    def _editable(self, params: _Params) -> tuple[_ChatState, SentMessage]:
        if params.values.get("inline_message_id") is not None:
            raise ApiError.bad_request("the emulator does not support inline messages")
        state = self._target(params)
        current = state.messages.get(params.message_id())
        if current is None:
            raise ApiError.bad_request("message to edit not found")
        return state, current

    async def _edit_message_text(self, params: _Params) -> object:
        state, current = self._editable(params)
        if current.document is not None:
            raise ApiError.bad_request("there is no text in the message to edit")
        raw, text, entities = self._formatted(params, "text", "entities", caption=False)
        markup, buttons = _reply_markup(params)
        same_content = text == current.text and entities == current.entities
        if same_content and markup == current.reply_markup:
            raise ApiError.bad_request(_NOT_MODIFIED)
        edited = replace(
            current,
            html=raw,
            text=text,
            entities=entities,
            parse_mode=params.text("parse_mode"),
            reply_markup=markup,
            buttons=buttons,
            edits=current.edits + 1,
            edit_date=int(time.time()),
        )
        return self._record(state, edited)

    async def _edit_message_reply_markup(self, params: _Params) -> object:
        state, current = self._editable(params)
        markup, buttons = _reply_markup(params)
        if markup == current.reply_markup:
            raise ApiError.bad_request(_NOT_MODIFIED)
        edited = replace(
            current,
            reply_markup=markup,
            buttons=buttons,
            edits=current.edits + 1,
            edit_date=int(time.time()),
        )
        return self._record(state, edited)

    async def _delete_message(self, params: _Params) -> object:
        state = self._target(params)
        message_id = params.message_id()
        if state.messages.pop(message_id, None) is None and message_id not in state.incoming:
            raise ApiError.bad_request("message to delete not found")
        state.incoming.discard(message_id)
        return True

    async def _answer_callback_query(self, params: _Params) -> object:
        pending = self._callbacks.get(params.text("callback_query_id") or "")
        if pending is None or pending.answer is not None:
            raise ApiError.bad_request(_QUERY_INVALID)
        text = params.text("text")
        if text is not None and len(text) > 200:
            raise ApiError.bad_request("MESSAGE_TOO_LONG")
        pending.answer = CallbackAnswer(text, params.flag("show_alert"), params.text("url"))
        pending.answered.set()
        return True

    def _command_key(self, params: _Params) -> tuple[str, str]:
        scope = params.json("scope")
        if scope is not None and not isinstance(scope, dict):
            raise ApiError.bad_request("can't parse BotCommandScope JSON object")
        if scope is not None and scope.get("type") not in _SCOPE_TYPES:
            raise ApiError.bad_request("wrong parameter scope type")
        return _scope_key(scope), params.text("language_code") or ""

    async def _set_my_commands(self, params: _Params) -> object:
        commands = params.json("commands")
        if not isinstance(commands, list):
            raise ApiError.bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError.bad_request("BOT_COMMANDS_TOO_MUCH")
        checked = [_bot_command(item) for item in commands]
        self._commands[self._command_key(params)] = checked
        return True

    async def _get_my_commands(self, params: _Params) -> object:
        return self._commands.get(self._command_key(params), [])

    async def _delete_my_commands(self, params: _Params) -> object:
        self._commands.pop(self._command_key(params), None)
        return True

    def _bot_text_setter(self, kind: str, limit: int) -> _Method:
        async def set_text(params: _Params) -> object:
            value = params.text(kind) or ""
            if len(value) > limit:
                raise ApiError.bad_request(f"{kind} is too long")
            self._bot_texts[(kind, params.text("language_code") or "")] = value
            return True

        return set_text

    def _bot_text_getter(self, kind: str) -> _Method:
        async def get_text(params: _Params) -> object:
            return {kind: self.bot_text(kind, params.text("language_code") or "")}

        return get_text

    async def _send_chat_action(self, params: _Params) -> object:
        self._target(params)
        if params.text("action") not in _CHAT_ACTIONS:
            raise ApiError.bad_request("wrong parameter action in request")
        return True

    async def _get_chat(self, params: _Params) -> object:
        state = self._target(params)
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        return {
            **state.chat.to_json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys((*gifts, "gifts_from_channels"), False),
        }

    async def _get_chat_member(self, params: _Params) -> object:
        state = self._target(params)
        user_id = params.integer("user_id")
        user = self.bot if user_id == self.bot.id else self._users.get(user_id or 0)
        if user is None:
            raise ApiError.bad_request("user not found")
        return _member_json(state.chat, user)

    async def _get_chat_administrators(self, params: _Params) -> object:
        state = self._target(params)
        if state.chat.is_private:
            raise ApiError.bad_request("there are no administrators in the private chat")
        admins = [
            self._users.get(i) or User(i, f"Admin {i}") for i in sorted(state.chat.admin_ids)
        ]
        return [_member_json(state.chat, admin) for admin in admins]


class ChatSession:
    """One user's side of a chat: say something or press a button, then read the bot's answer."""

    def __init__(
        self, emulator: BotApiEmulator, chat: Chat, user: User, *, timeout: float = 5.0
    ) -> None:
        self.emulator = emulator
        self.chat = chat
        self.user = user
        self.timeout = timeout
        self.presses: list[int] = []

    @property
    def messages(self) -> list[SentMessage]:
        """The bot's messages in this chat as they stand now."""
        return self.emulator.messages(self.chat)

    def say(self, text: str) -> int:
        """Send a message without waiting for an answer; returns the update id."""
        return self.emulator.send_message(self.chat, self.user, text)

    async def send(self, text: str) -> SentMessage:
        """Send a message and return the bot's first message (new or edited) after it."""
        self.emulator.skip_unread(self.chat)
        self.say(text)
        return await self.next_message()

    async def press(self, message: SentMessage, button: str) -> SentMessage:
        """Press a button (by callback data or text) and return the bot's next message."""
        self.emulator.skip_unread(self.chat)
        self.presses.append(self.emulator.press_button(message, button, self.user))
        return await self.next_message()

    async def next_message(self) -> SentMessage:
        """The bot's next message (new or edited) in this chat."""
        return await self.emulator.wait_for_message(self.chat, timeout=self.timeout)


async def _read_params(request: web.Request) -> dict[str, object]:
    raw: dict[str, object] = dict(request.query)
    if request.content_type == "multipart/form-data":
        async for part in await request.multipart():
            if not isinstance(part, BodyPartReader) or not part.name:
                continue
            if part.filename is not None:
                content_type = part.headers.get(hdrs.CONTENT_TYPE)
                raw[part.name] = Upload(part.filename, bytes(await part.read()), content_type)
            else:
                raw[part.name] = await part.text()
    elif request.content_type == "application/json":
        body = await request.json()
        if not isinstance(body, dict):
            raise ApiError.bad_request("the request body must be a JSON object")
        raw.update(body)
    elif request.body_exists:
        form = await request.post()
        raw.update((name, value) for name, value in form.items() if isinstance(value, str))
    return {
        name: _decode_field(name, value) if isinstance(value, str) else value
        for name, value in raw.items()
    }


def _decode_field(name: str, value: str) -> object:
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError.bad_request(f"can't parse {name} JSON object") from None
    if name in _INT_FIELDS and _INTEGER.fullmatch(value):
        return int(value)
    if name in _BOOL_FIELDS:
        return value.lower() in {"true", "1"}
    return value


def _client_entities(value: object) -> list[Entity]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ApiError.bad_request("can't parse entities JSON object")
    return [_client_entity(item) for item in value]


def _client_entity(item: object) -> Entity:
    if not isinstance(item, dict):
        raise ApiError.bad_request("can't parse MessageEntity JSON object")
    kind, offset, length = item.get("type"), item.get("offset"), item.get("length")
    if not (isinstance(kind, str) and isinstance(offset, int) and isinstance(length, int)):
        raise ApiError.bad_request("can't parse MessageEntity JSON object")
    entity = Entity(type=kind, offset=offset, length=length)
    url, language, emoji = item.get("url"), item.get("language"), item.get("custom_emoji_id")
    if isinstance(url, str):
        entity["url"] = url
    if isinstance(language, str):
        entity["language"] = language
    if isinstance(emoji, str):
        entity["custom_emoji_id"] = emoji
    return entity


def _reply_markup(params: _Params) -> tuple[JsonDict | None, Keyboard]:
    markup = params.json("reply_markup")
    if markup is None:
        return None, ()
    if not isinstance(markup, dict):
        raise ApiError.bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup, ()
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError.bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
        )
    return markup, tuple(tuple(_button(item) for item in row) for row in rows)


def _button(item: object) -> Button:
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise ApiError.bad_request("can't parse inline keyboard button: Text must be a String")
    if not _BUTTON_ACTIONS.intersection(item):
        raise ApiError.bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    data, url = item.get("callback_data"), item.get("url")
    if data is not None and (
        not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
    ):
        raise ApiError.bad_request("BUTTON_DATA_INVALID")
    if url is not None and (not isinstance(url, str) or not url.strip()):
        raise ApiError.bad_request("BUTTON_URL_INVALID")
    return Button(str(item["text"]), data, url)


def _bot_command(item: object) -> JsonDict:
    if not isinstance(item, dict):
        raise ApiError.bad_request("can't parse BotCommand JSON object")
    command, description = item.get("command"), item.get("description")
    if not isinstance(command, str) or not _BOT_COMMAND.fullmatch(command):
        raise ApiError.bad_request("BOT_COMMAND_INVALID")
    if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
        raise ApiError.bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    return {"command": command, "description": description}


def _scope_key(scope: Mapping[str, object] | None) -> str:
    return json.dumps(dict(scope) if scope else {"type": "default"}, sort_keys=True)


def _member_json(chat: Chat, user: User) -> JsonDict:
    if user.id not in chat.admin_ids:
        return {"status": "member", "user": user.to_json()}
    rights = (
        "can_manage_chat",
        "can_delete_messages",
        "can_manage_video_chats",
        "can_restrict_members",
        "can_change_info",
        "can_invite_users",
        "can_post_stories",
        "can_edit_stories",
        "can_delete_stories",
        "can_pin_messages",
    )
    return {
        "status": "administrator",
        "user": user.to_json(),
        "can_be_edited": False,
        "is_anonymous": False,
        "can_promote_members": False,
        **dict.fromkeys(rights, True),
    }
