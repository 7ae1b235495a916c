"""BotApiEmulator, what a test, the sandbox or a benchmark holds: it registers users and chats,
injects their messages and presses, and waits for the bot's answers; ChatSession is one user's
side of a chat with it.
"""

import asyncio
import re
import time
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Self

from bot.emulator.limits import RateLimiter, RateLimits
from bot.emulator.methods import Methods
from bot.emulator.server import ApiServer
from bot.emulator.store import PendingCallback, Store, scope_key
from bot.emulator.values import (
    ApiError,
    Call,
    CallbackAnswer,
    Chat,
    ChatRef,
    Document,
    JsonDict,
    SentMessage,
    User,
)
from bot.emulator.webhook import Webhooks

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>])")


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
        self._store = Store(self.bot)
        limiter = None if rate_limits is None else RateLimiter(rate_limits, clock)
        self.webhooks = Webhooks(self._store)
        methods = Methods(self._store).table() | self.webhooks.table()
        self._server = ApiServer(token, self._store, methods, limiter)
        self.calls: list[Call] = self._server.calls
        self.stats = self._server.stats

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
        return f"{self._server.origin}/bot"

    @property
    def base_file_url(self) -> str:
        """What `ApplicationBuilder().base_file_url(...)` takes, for downloading sent files."""
        return f"{self._server.origin}/file/bot"

    async def start(self) -> None:
        """Listen on a free loopback port."""
        await self._server.start()

    async def stop(self) -> None:
        """Answer pending long polls with no updates, stop pushing, close every connection."""
        await self._server.stop()
        await self.webhooks.stop()

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
        self._store.users[user_id] = user
        self._store.register(Chat(user_id, "private", first_name=first_name, username=username))
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
        return self._store.register(Chat(chat_id, kind, title=title, admin_ids=admin_ids))

    def chat(self, chat_id: int) -> Chat:
        """A registered chat."""
        return self._store.chat_state(chat_id).chat

    def private_chat(self, user: User, *, timeout: float = 5.0) -> "ChatSession":
        """The user's side of their private chat with the bot."""
        return ChatSession(self, self.chat(user.id), user, timeout=timeout)

    def group_chat(
        self, group: Chat, user: User, *, timeout: float = 5.0, thread_id: int | None = None
    ) -> "ChatSession":
        """One member's side of a group chat; in one forum topic of it, if `thread_id` is given."""
        return ChatSession(self, self.chat(group.id), user, timeout=timeout, thread_id=thread_id)

    def send_message(
        self, chat: ChatRef, user: User | int, text: str, *, thread_id: int | None = None
    ) -> int:
        """Queue a user's text message, in the forum topic `thread_id` if given; a leading
        /command gets its bot_command entity."""
        state = self._store.chat_state(chat)
        sender = self._store.user(user)
        message_id = state.take_message_id()
        state.incoming.add(message_id)
        message: JsonDict = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": state.chat.to_json(),
            "from": sender.to_json(),
            "text": text,
        }
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        command = _COMMAND.match(text)
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        return self._store.push_update("message", message)

    def send_document(
        self,
        chat: ChatRef,
        user: User | int,
        filename: str,
        content: bytes,
        *,
        caption: str | None = None,
    ) -> int:
        """Queue a user's file, which getFile and the file URL then serve; a caption that starts
        with a /command gets its bot_command entity, as Telegram gives it."""
        state = self._store.chat_state(chat)
        message_id = state.take_message_id()
        state.incoming.add(message_id)
        document = Document(*self._store.next_file_ids(), filename, content)
        self._store.documents[document.file_id] = document
        message: JsonDict = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": state.chat.to_json(),
            "from": self._store.user(user).to_json(),
            "document": document.to_json(),
        }
        if caption is not None:
            message["caption"] = caption
            command = _COMMAND.match(caption)
            if command:
                entity = {"type": "bot_command", "offset": 0, "length": command.end()}
                message["caption_entities"] = [entity]
        return self._store.push_update("message", message)

    def press_button(self, message: SentMessage, button: str, user: User | int) -> int:
        """Queue a press on a button of a message the bot sent; LookupError if it has none."""
        state = self._store.chat_state(message.chat_id)
        current = state.messages.get(message.message_id)
        if current is None:
            raise LookupError(f"chat {message.chat_id} has no message {message.message_id}")
        target = current.find_button(button)
        if target.callback_data is None:
            raise LookupError(f"button {target.text!r} opens {target.url}; it sends no callback")
        return self._push_press(state.chat, user, target.callback_data, current)

    def press_data(
        self, chat: ChatRef, user: User | int, data: str, *, message_id: int | None = None
    ) -> int:
        """Queue a press with any data, from any user, as a client can forge one: on the chat's
        message `message_id` (one the bot sent, or one that is gone), by default its latest."""
        state = self._store.chat_state(chat)
        if message_id is None:
            message_id = max(state.messages, default=state.last_message_id)
        current = state.messages.get(message_id)
        if current is None:
            gone: JsonDict = {"message_id": message_id, "chat": state.chat.to_json(), "date": 0}
            return self._push_press(state.chat, user, data, gone)
        return self._push_press(state.chat, user, data, current)

    def inject(self, kind: str, payload: JsonDict, *, created_earlier: bool = False) -> int:
        """Queue any update as Telegram would deliver it: `kind` is its field ("message",
        "edited_message", "my_chat_member" ...) and `payload` is not checked, so a test can send
        what no client should. `created_earlier` delivers it even if the bot opted out of its
        kind, as Telegram does with updates it made before the bot changed allowed_updates.
        Returns its update id."""
        return self._store.push_update(kind, payload, even_if_not_allowed=created_earlier)

    def _push_press(
        self, chat: Chat, user: User | int, data: str, message: SentMessage | JsonDict
    ) -> int:
        update_id = next(self._store.update_ids)
        query_id = str(10**9 + update_id)
        query: JsonDict = {
            "id": query_id,
            "from": self._store.user(user).to_json(),
            "chat_instance": str(chat.id),
            "data": data,
            "message": message if isinstance(message, dict) else self._store.message_json(message),
        }
        self._store.callbacks[query_id] = PendingCallback(update_id)
        self._store.callback_ids[update_id] = query_id
        return self._store.push_update("callback_query", query, update_id=update_id)

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        return len(self._store.updates)

    def messages(self, chat: ChatRef) -> list[SentMessage]:
        """The bot's messages in a chat as they stand now, oldest first, deleted ones left out."""
        return list(self._store.chat_state(chat).messages.values())

    def history(self, chat: ChatRef) -> list[SentMessage]:
        """Every send and edit the bot made in a chat, in order."""
        return list(self._store.chat_state(chat).log)

    def skip_unread(self, chat: ChatRef) -> None:
        """Move the chat's read cursor past everything the bot has sent so far."""
        state = self._store.chat_state(chat)
        state.cursor = len(state.log)

    # A built-in deadline means a silent bot fails the test with a report instead of hanging it.
    async def wait_for_message(
        self,
        chat: ChatRef,
        *,
        timeout: float | None = 5.0,  # noqa: ASYNC109 (a deadline; None waits for ever)
    ) -> SentMessage:
        """The next bot message (new or edited) after the chat's read cursor, which moves on;
        `timeout` None waits as long as it takes (the sandbox, whose user may idle for hours)."""
        state = self._store.chat_state(chat)
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
        return self._store.pending_callback(update_id).answer

    async def wait_for_callback_answer(
        self,
        update_id: int,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 (a deadline, as in wait_for_message)
    ) -> CallbackAnswer:
        """Wait until the bot answers the press injected as `update_id`."""
        pending = self._store.pending_callback(update_id)
        try:
            async with asyncio.timeout(timeout):
                await pending.answered.wait()
        except TimeoutError:
            raise TimeoutError(f"callback {update_id} not answered within {timeout}s") from None
        assert pending.answer is not None
        return pending.answer

    def unanswered_callbacks(self) -> list[int]:
        """Update ids of presses the bot has not answered with answerCallbackQuery."""
        return [p.update_id for p in self._store.callbacks.values() if p.answer is None]

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
                await self._server.call_made.wait_until(arrived)
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
        stored = self._store.commands.get((scope_key(scope), language_code), [])
        return [(str(item["command"]), str(item["description"])) for item in stored]

    def bot_text(self, kind: str, language_code: str = "") -> str:
        """The bot's "description", "short_description" or "name" for a language."""
        return self._store.bot_text(kind, language_code)

    def fail(
        self,
        method: str,
        error: ApiError,
        *,
        times: int = 1,
        chat_id: int | None = None,
        after: int = 0,
    ) -> None:
        """Answer the next `times` calls of `method` (to `chat_id` only, if given) with `error`;
        with `after`, only once that many more have gone through."""
        self._server.fail(method, error, times=times, chat_id=chat_id, after=after)

    def answer_late(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Do the next `times` calls of `method` at once but answer each only `seconds` later,
        as Telegram does when slow: a bot that times out meanwhile has had it done anyway."""
        self._server.answer_late(method, seconds, times=times)

    def stall(self, seconds: float) -> None:
        """Stop answering for `seconds`, as Telegram now and then does: calls that arrive
        meanwhile wait, and are counted against the limits and answered when it resumes."""
        self._server.stall(seconds)

    def resume(self) -> None:
        """End a stall before its time: the calls that waited are answered."""
        self._server.resume()

    def hold(self, method: str) -> None:
        """Keep calls of `method` (e.g. "sendMessage") waiting until release(): each is in
        `calls` as it arrives, none is answered or has any effect meanwhile."""
        self._server.hold(method)

    def release(self, method: str) -> None:
        """Let the held calls of `method` go on, and answer later ones at once."""
        self._server.release(method)

    async def wait_for_held(
        self,
        method: str,
        count: int,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 (a deadline, as in wait_for_message)
    ) -> None:
        """Until exactly `count` calls of `method` are held: e.g. 0 once a bot that gave up
        its held calls has closed their connections, so releasing carries none of them out."""
        server = self._server
        try:
            async with asyncio.timeout(timeout):
                await server.waiting_changed.wait_until(lambda: server.waiting[method] == count)
        except TimeoutError:
            raise TimeoutError(
                f"{server.waiting[method]} {method} calls held after {timeout}s, not {count}"
            ) from None

    def block(self, chat: ChatRef) -> None:
        """Make every send to this chat fail with 403 until unblock()."""
        self._server.block(self._store.chat_state(chat).chat.id)

    def unblock(self, chat: ChatRef) -> None:
        """Let sends to this chat through again."""
        self._server.unblock(self._store.chat_state(chat).chat.id)

    def _silence_report(self, chat_id: int, timeout: float | None) -> str:
        recent = "; ".join(
            f"{call.method}{' -> ' + call.error if call.error else ''}" for call in self.calls[-6:]
        )
        return f"no new bot message in chat {chat_id} within {timeout}s (recent calls: {recent})"


class ChatSession:
    """One user's side of a chat: say something or press a button, then read the bot's answer."""

    def __init__(
        self,
        emulator: BotApiEmulator,
        chat: Chat,
        user: User,
        *,
        timeout: float = 5.0,
        thread_id: int | None = None,
    ) -> None:
        self.emulator = emulator
        self.chat = chat
        self.user = user
        self.timeout = timeout
        self.thread_id = thread_id
        self.presses: list[int] = []

    @property
    def messages(self) -> list[SentMessage]:
        """The bot's messages in this chat as they stand now."""
        return self.emulator.messages(self.chat)

    def say(self, text: str) -> int:
        """Send a message without waiting for an answer; returns the update id."""
        return self.emulator.send_message(self.chat, self.user, text, thread_id=self.thread_id)

    async def send(self, text: str) -> SentMessage:
        """Send a message and return the bot's first message (new or edited) after it."""
        self.emulator.skip_unread(self.chat)
        self.say(text)
        return await self.next_message()

    async def send_document(
        self, filename: str, content: bytes, *, caption: str | None = None
    ) -> SentMessage:
        """Send a file (with a caption) and return the bot's first message after it."""
        self.emulator.skip_unread(self.chat)
        self.emulator.send_document(self.chat, self.user, filename, content, caption=caption)
        return await self.next_message()

    async def press(self, message: SentMessage, button: str) -> SentMessage:
        """Press a button (by callback data or text) and return the bot's next message."""
        self.emulator.skip_unread(self.chat)
        self.presses.append(self.emulator.press_button(message, button, self.user))
        return await self.next_message()

    async def press_for_answer(self, message: SentMessage, button: str) -> CallbackAnswer:
        """Press a button and return the bot's answer to the press itself (a note or an alert)."""
        self.presses.append(self.emulator.press_button(message, button, self.user))
        return await self.emulator.wait_for_callback_answer(self.presses[-1])

    async def next_message(self) -> SentMessage:
        """The bot's next message (new or edited) in this chat."""
        return await self.emulator.wait_for_message(self.chat, timeout=self.timeout)
