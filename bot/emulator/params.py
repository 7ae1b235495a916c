"""The bot's request parameters: decoded from a query, form, multipart or JSON body as PTB sends
them, then read with the checks Telegram applies, its error texts included.
"""

import json
import re

from aiohttp import BodyPartReader, hdrs, web

from bot.emulator.telegram_html import Entity
from bot.emulator.values import ApiError, Button, JsonDict, Keyboard, Upload

MAX_CALLBACK_DATA_BYTES = 64

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
_BOT_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
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


class Params:
    """Decoded request parameters, read with the checks Telegram applies to them."""

    def __init__(self, values: dict[str, object]) -> None:
        self.values = values

    def text(self, name: str) -> str | None:
        """A string parameter; a number or a JSON value comes back as its JSON text."""
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, Upload):
            raise ApiError.bad_request(f"{name} must be a string")
        return json.dumps(value)

    def integer(self, name: str) -> int | None:
        """An integer parameter, if given; 400 if it is not one."""
        value = self.values.get(name)
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        if isinstance(value, str) and _INTEGER.fullmatch(value):
            return int(value)
        raise ApiError.bad_request(f"invalid {name} specified")

    def number(self, name: str) -> float | None:
        """A numeric parameter, or None if it is missing or not a number."""
        value = self.values.get(name)
        if isinstance(value, str) and _NUMBER.fullmatch(value):
            return float(value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return None

    def flag(self, name: str) -> bool:
        """A boolean parameter; missing means false."""
        value = self.values.get(name)
        if isinstance(value, str):
            return value.lower() in {"true", "1"}
        return value is True

    def json(self, name: str) -> object:
        """A JSON-valued parameter, decoded if it is still text."""
        value = self.values.get(name)
        return _decode_field(name, value) if isinstance(value, str) else value

    def chat_id(self) -> int:
        """The target chat's id; a username or other text is a chat the emulator cannot find."""
        value = self.values.get("chat_id")
        if value is None or value == "":
            raise ApiError.bad_request("chat_id is empty")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INTEGER.fullmatch(value):
            return int(value)
        raise ApiError.chat_not_found()

    def message_id(self) -> int:
        """The required message_id."""
        message_id = self.integer("message_id")
        if message_id is None:
            raise ApiError.bad_request("message identifier is not specified")
        return message_id


async def read_params(request: web.Request) -> dict[str, object]:
    """Every parameter of a request, by name; file parts become Uploads."""
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


def client_entities(value: object) -> list[Entity]:
    """The entities the bot passed explicitly, as for a message without parse_mode."""
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


def reply_markup(params: Params) -> tuple[JsonDict | None, Keyboard]:
    """The reply_markup as sent, and its inline keyboard (empty for any other kind)."""
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


def bot_command(item: object) -> JsonDict:
    """One entry of setMyCommands, checked as Telegram checks it."""
    if not isinstance(item, dict):
        raise ApiError.bad_request("can't parse BotCommand JSON object")
    command, description = item.get("command"), item.get("description")
    if not isinstance(command, str) or not _BOT_COMMAND.fullmatch(command):
        raise ApiError.bad_request("BOT_COMMAND_INVALID")
    if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
        raise ApiError.bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    return {"command": command, "description": description}
