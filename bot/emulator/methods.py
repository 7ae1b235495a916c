"""The Bot API methods the emulator answers, each checking its parameters as Telegram does."""

import asyncio
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TypeAlias

from bot.emulator import telegram_html
from bot.emulator.params import Params, bot_command, client_entities, reply_markup
from bot.emulator.store import DEFAULT_UPDATES, ChatState, Store, scope_key
from bot.emulator.telegram_html import Entity, TelegramHtmlError
from bot.emulator.values import (
    ApiError,
    CallbackAnswer,
    Chat,
    Document,
    JsonDict,
    SentMessage,
    Upload,
    User,
)

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024

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
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"

Method: TypeAlias = Callable[[Params], Awaitable[object]]


class Methods:
    """The method implementations, by Telegram's name, over the emulator's store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def table(self) -> dict[str, Method]:
        """Every method the emulator implements, by its Bot API name."""
        return {
            "getMe": self._get_me,
            "logOut": self._accept,
            "close": self._accept,
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

    def _target(self, params: Params) -> ChatState:
        state = self._store.chats.get(params.chat_id())
        if state is None:
            raise ApiError.chat_not_found()
        return state

    def _formatted(
        self, params: Params, field_name: str, entities_field: str, *, caption: bool
    ) -> tuple[str, str, list[Entity]]:
        raw = params.text(field_name) or ""
        parse_mode = params.text("parse_mode") or ""
        if parse_mode.lower() == "html":
            try:
                text, entities = telegram_html.parse(raw)
            except TelegramHtmlError as error:
                raise ApiError.bad_request(f"can't parse entities: {error}") from None
        elif not parse_mode:
            text, entities = raw, client_entities(params.json(entities_field))
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
        user = self._store.users.get(user_id) or User(user_id, str(user_id))
        return {**entity, "user": user.to_json()}

    async def _accept(self, params: Params) -> object:
        return True

    async def _get_me(self, params: Params) -> object:
        return {
            **self._store.bot.to_json(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: Params) -> object:
        store = self._store
        if store.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.integer("offset") or 0
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(params.number("timeout") or 0.0, 0.0)
        allowed = params.json("allowed_updates")
        if isinstance(allowed, list):
            store.allowed_updates = frozenset(str(kind) for kind in allowed) or DEFAULT_UPDATES
        if offset < 0:
            while len(store.updates) > -offset:
                store.updates.popleft()
        else:
            while store.updates and store.updates[0][0] < offset:
                store.updates.popleft()

        store.poll_generation += 1
        generation = store.poll_generation
        store.updates_arrived.pulse()

        def ready() -> bool:
            return bool(store.updates) or store.closing or generation != store.poll_generation

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await store.updates_arrived.wait_until(ready)
        if store.closing:
            return []
        if generation != store.poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        return [update for _, update in itertools.islice(store.updates, limit)]

    async def _send_message(self, params: Params) -> object:
        return self._send(params, "text", "entities", caption=False)

    async def _send_document(self, params: Params) -> object:
        return self._send(params, "caption", "caption_entities", caption=True)

    def _send(
        self, params: Params, text_field: str, entities_field: str, *, caption: bool
    ) -> object:
        """A new message in the target chat: a text, or a document with its caption."""
        state = self._target(params)
        document = self._document(params) if caption else None
        raw, text, entities = self._formatted(params, text_field, entities_field, caption=caption)
        markup, buttons = reply_markup(params)
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
            thread_id=params.integer("message_thread_id"),
        )
        return self._store.record(state, message)

    def _document(self, params: Params) -> Document:
        value = params.values.get("document")
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.values.get(value.removeprefix("attach://"))
        documents = self._store.documents
        if isinstance(value, Upload):
            file_ids = self._store.next_file_ids()
            document = Document(*file_ids, value.filename, value.content, value.content_type)
            documents[document.file_id] = document
            return document
        if isinstance(value, str) and value in documents:
            return documents[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            name = value.rstrip("/").rpartition("/")[2] or "file"
            return Document(*self._store.next_file_ids(), name, b"")
        if value is None:
            raise ApiError.bad_request("there is no document in the request")
        raise ApiError.bad_request("wrong file identifier/HTTP URL specified")

    async def _get_file(self, params: Params) -> object:
        document = self._store.documents.get(params.text("file_id") or "")
        if document is None:
            raise ApiError.bad_request("invalid file_id")
        return {
            "file_id": document.file_id,
            "file_unique_id": document.file_unique_id,
            "file_size": len(document.content),
            "file_path": f"documents/{document.file_id}",
        }

    def _editable(self, params: Params) -> tuple[ChatState, SentMessage]:
        if params.values.get("inline_message_id") is not None:
            raise ApiError.bad_request("the emulator does not support inline messages")
        state = self._target(params)
        current = state.messages.get(params.message_id())
        if current is None:
            raise ApiError.bad_request("message to edit not found")
        return state, current

    async def _edit_message_text(self, params: Params) -> object:
        state, current = self._editable(params)
        if current.document is not None:
            raise ApiError.bad_request("there is no text in the message to edit")
        raw, text, entities = self._formatted(params, "text", "entities", caption=False)
        markup, buttons = reply_markup(params)
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
        return self._store.record(state, edited)

    async def _edit_message_reply_markup(self, params: Params) -> object:
        state, current = self._editable(params)
        markup, buttons = reply_markup(params)
        if markup == current.reply_markup:
            raise ApiError.bad_request(_NOT_MODIFIED)
        edited = replace(
            current,
            reply_markup=markup,
            buttons=buttons,
            edits=current.edits + 1,
            edit_date=int(time.time()),
        )
        return self._store.record(state, edited)

    async def _delete_message(self, params: Params) -> object:
        state = self._target(params)
        message_id = params.message_id()
        if state.messages.pop(message_id, None) is None and message_id not in state.incoming:
            raise ApiError.bad_request("message to delete not found")
        state.incoming.discard(message_id)
        return True

    async def _answer_callback_query(self, params: Params) -> object:
        pending = self._store.callbacks.get(params.text("callback_query_id") or "")
        if pending is None or pending.answer is not None:
            raise ApiError.bad_request(_QUERY_INVALID)
        text = params.text("text")
        if text is not None and len(text) > 200:
            raise ApiError.bad_request("MESSAGE_TOO_LONG")
        pending.answer = CallbackAnswer(text, params.flag("show_alert"), params.text("url"))
        pending.answered.set()
        return True

    def _command_key(self, params: Params) -> tuple[str, str]:
        scope = params.json("scope")
        if scope is not None and not isinstance(scope, dict):
            raise ApiError.bad_request("can't parse BotCommandScope JSON object")
        if scope is not None and scope.get("type") not in _SCOPE_TYPES:
            raise ApiError.bad_request("wrong parameter scope type")
        return scope_key(scope), params.text("language_code") or ""

    async def _set_my_commands(self, params: Params) -> object:
        commands = params.json("commands")
        if not isinstance(commands, list):
            raise ApiError.bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError.bad_request("BOT_COMMANDS_TOO_MUCH")
        checked = [bot_command(item) for item in commands]
        self._store.commands[self._command_key(params)] = checked
        return True

    async def _get_my_commands(self, params: Params) -> object:
        return self._store.commands.get(self._command_key(params), [])

    async def _delete_my_commands(self, params: Params) -> object:
        self._store.commands.pop(self._command_key(params), None)
        return True

    def _bot_text_setter(self, kind: str, limit: int) -> Method:
        async def set_text(params: Params) -> object:
            value = params.text(kind) or ""
            if len(value) > limit:
                raise ApiError.bad_request(f"{kind} is too long")
            self._store.bot_texts[(kind, params.text("language_code") or "")] = value
            return True

        return set_text

    def _bot_text_getter(self, kind: str) -> Method:
        async def get_text(params: Params) -> object:
            return {kind: self._store.bot_text(kind, params.text("language_code") or "")}

        return get_text

    async def _send_chat_action(self, params: Params) -> object:
        self._target(params)
        if params.text("action") not in _CHAT_ACTIONS:
            raise ApiError.bad_request("wrong parameter action in request")
        return True

    async def _get_chat(self, params: Params) -> object:
        state = self._target(params)
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription")
        return {
            **state.chat.to_json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys((*gifts, "gifts_from_channels"), False),
        }

    async def _get_chat_member(self, params: Params) -> object:
        state = self._target(params)
        bot, user_id = self._store.bot, params.integer("user_id")
        user = bot if user_id == bot.id else self._store.users.get(user_id or 0)
        if user is None:
            raise ApiError.bad_request("user not found")
        return _member_json(state.chat, user)

    async def _get_chat_administrators(self, params: Params) -> object:
        state = self._target(params)
        if state.chat.is_private:
            raise ApiError.bad_request("there are no administrators in the private chat")
        admins = [
            self._store.users.get(i) or User(i, f"Admin {i}") for i in sorted(state.chat.admin_ids)
        ]
        return [_member_json(state.chat, admin) for admin in admins]


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
