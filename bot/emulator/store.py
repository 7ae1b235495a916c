"""What the emulated Telegram remembers, in memory: users, chats and the bot's messages in them,
the update queue, button presses awaiting an answer, the bot's commands, texts and files.
"""

import asyncio
import itertools
import json
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bot.emulator.values import (
    CallbackAnswer,
    Chat,
    ChatRef,
    Document,
    JsonDict,
    SentMessage,
    User,
)

# What Telegram sends when a bot never chose; chat_member and reactions need opting in.
DEFAULT_UPDATES = frozenset(
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


class Signal:
    """Wakes everyone waiting at once; synchronous to pulse, so plain methods can announce."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def pulse(self) -> None:
        """Wake every current waiter; later ones wait for the next pulse."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, ready: Callable[[], bool]) -> None:
        """Return once ready() holds, rechecking it at every pulse."""
        while not ready():
            await self._event.wait()


@dataclass
class ChatState:
    """One chat: the bot's messages as they stand, every send and edit, and a read cursor."""

    chat: Chat
    messages: dict[int, SentMessage] = field(default_factory=dict)
    incoming: set[int] = field(default_factory=set)
    log: list[SentMessage] = field(default_factory=list)
    cursor: int = 0
    last_message_id: int = 0
    changed: Signal = field(default_factory=Signal)

    def take_message_id(self) -> int:
        """The next message id; users' and the bot's messages share one sequence per chat."""
        self.last_message_id += 1
        return self.last_message_id


@dataclass
class PendingCallback:
    """A button press the emulator injected, and the bot's answer once it comes."""

    update_id: int
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    answer: CallbackAnswer | None = None


class Store:
    """The emulator's memory, shared by the methods that answer the bot and the test's side."""

    def __init__(self, bot: User) -> None:
        self.bot = bot
        self.users: dict[int, User] = {}
        self.chats: dict[int, ChatState] = {}
        self.updates: deque[tuple[int, JsonDict]] = deque()
        self.update_ids = itertools.count(1)
        self.updates_arrived = Signal()
        self.allowed_updates = DEFAULT_UPDATES
        self.poll_generation = 0
        # The webhook's URL while one is set (bot/emulator/webhook.py): getUpdates refuses.
        self.webhook_url = ""
        self.closing = False
        self.callbacks: dict[str, PendingCallback] = {}
        self.callback_ids: dict[int, str] = {}
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        self.bot_texts: dict[tuple[str, str], str] = {}
        self.documents: dict[str, Document] = {}
        self.file_numbers = itertools.count(1)

    def register(self, chat: Chat) -> Chat:
        """Add a chat, or update one already known while keeping its messages."""
        state = self.chats.get(chat.id)
        if state is None:
            self.chats[chat.id] = ChatState(chat)
        else:
            state.chat = chat
        return chat

    def chat_state(self, chat: ChatRef) -> ChatState:
        """A registered chat's state; LookupError for one never registered."""
        chat_id = chat if isinstance(chat, int) else chat.id
        state = self.chats.get(chat_id)
        if state is None:
            raise LookupError(f"chat {chat_id} is not registered; use user() or group() first")
        return state

    def user(self, user: User | int) -> User:
        """A user, given or looked up by id; LookupError for an unknown id."""
        if isinstance(user, User):
            return user
        known = self.users.get(user)
        if known is None:
            raise LookupError(f"user {user} is not registered; use user() first")
        return known

    def pending_callback(self, update_id: int) -> PendingCallback:
        """The press injected as this update; LookupError if it was not a press."""
        query_id = self.callback_ids.get(update_id)
        if query_id is None:
            raise LookupError(f"update {update_id} is not a button press")
        return self.callbacks[query_id]

    def push_update(
        self,
        kind: str,
        payload: JsonDict,
        *,
        update_id: int | None = None,
        even_if_not_allowed: bool = False,
    ) -> int:
        """Queue an update, unless the bot opted out of its kind; returns its id either way."""
        if update_id is None:
            update_id = next(self.update_ids)
        # Telegram never creates updates of a kind the bot did not ask for.
        if even_if_not_allowed or kind in self.allowed_updates:
            self.updates.append((update_id, {"update_id": update_id, kind: payload}))
            self.updates_arrived.pulse()
        return update_id

    def record(self, state: ChatState, message: SentMessage) -> JsonDict:
        """Store a sent or edited message, wake the chat's readers, and return its JSON."""
        state.messages[message.message_id] = message
        state.log.append(message)
        state.changed.pulse()
        return self.message_json(message)

    def message_json(self, message: SentMessage) -> JsonDict:
        """The Bot API Message object for one of the bot's messages."""
        data: JsonDict = {
            "message_id": message.message_id,
            "from": self.bot.to_json(),
            "chat": self.chats[message.chat_id].chat.to_json(),
            "date": message.date,
        }
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        if message.thread_id is not None:
            data["message_thread_id"] = message.thread_id
            data["is_topic_message"] = True
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

    def next_file_ids(self) -> tuple[str, str]:
        """A new file_id and file_unique_id."""
        number = next(self.file_numbers)
        return f"DOC{number:06d}", f"U{number:06d}"

    def bot_text(self, kind: str, language_code: str = "") -> str:
        """The bot's "description", "short_description" or "name" for a language."""
        return self.bot_texts.get((kind, language_code), "")


def scope_key(scope: Mapping[str, object] | None) -> str:
    """The key commands are stored under: a scope, spelled one way whatever its key order."""
    return json.dumps(dict(scope) if scope else {"type": "default"}, sort_keys=True)
