"""Curators: the numeric Telegram user ids in ``[admins] user_ids``, and the gate on their tools.

Ids, never usernames: a username can be changed or taken over, an id cannot. Every admin
handler module registers its handlers with ``admin_only``, the one gate for commands, button
presses and documents: they run for an admin in their own private chat, and whoever else sends
what they take is refused and counted, with nothing else written. Callback data is the
client's to choose, so the gate looks at who pressed, never at what the button says; and each
admin button carries the token of a draft kept in its admin's own drafts (bot/curation/drafts.py),
so a press finds only drafts that were shown to the presser.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import BotCommand, Update, User
from telegram.constants import ChatType
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, ConversationHandler

from bot.context import App, Context, texts
from bot.settings import Settings
from bot.telegram.replies import reply
from bot.texts import Html, Texts
from storage import refusals

log = logging.getLogger(__name__)

# Every admin command, in the order the admin menu and the admin /help list them.
ADMIN_COMMANDS = (
    "addfact",
    "editfact",
    "delfact",
    "restore",
    "addsource",
    "addevent",
    "editevent",
    "cancelevent",
    "translate",
    "history",
    "revert",
    "broadcast",
    "thisweek",
    "stats",
    "export",
    "import",
)

Handler = BaseHandler[Update, Context, Any]


def is_admin(settings: Settings, user: User | None) -> bool:
    return user is not None and user.id in settings.admin_ids


def admin_named(t: Texts, names: Mapping[int, str], admin_id: int) -> Html:
    """An admin as curators know them, "Aigerim (id 4242)"; "admin 4242" before any name."""
    name = names.get(admin_id)
    return t("admin.named", name=name, id=admin_id) if name else t("admin.unnamed", id=admin_id)


def in_admin_chat(settings: Settings, update: Update) -> bool:
    """From an admin, in their own private chat with the bot (whose id is the user's)."""
    user, chat = update.effective_user, update.effective_chat
    return (
        user is not None
        and user.id in settings.admin_ids
        and chat is not None
        and chat.type == ChatType.PRIVATE
        and chat.id == user.id
    )


def admin_only(
    app: App, handlers: Sequence[Handler], *, group: int = 0, refuse_others: bool = True
) -> None:
    """Register admin handlers (commands, presses, documents, conversations) behind the gate.

    Each runs only for an admin in their own private chat. Anyone else who sends what one takes
    (its command, a press with its buttons' data, the document it reads) is refused, with a
    reply or, for a press, an alert, and the attempt is counted; nothing else is written. An
    admin elsewhere (a group) is told to use the private chat. ``refuse_others=False`` is for an
    admin's variant of a public command (/help): everyone else gets the public one.
    """
    settings = app.bot_data.settings
    gated = [_Gate(handler, settings, refuse_others=refuse_others) for handler in handlers]
    app.add_handlers(gated, group=group)


def admin_menu(t: Texts) -> list[BotCommand]:
    """The admin's extra commands, for setMyCommands in each admin's private chat."""
    return [BotCommand(name, t(f"admin_command.{name}")) for name in ADMIN_COMMANDS]


@dataclass(frozen=True)
class _Admitted:
    """An admin's update, with what the gated handler's own check made of it."""

    check: object


class _Gate(BaseHandler[Update, Context, Any]):
    """A handler that runs for admins only; what it would take from anyone else is turned away."""

    def __init__(self, handler: Handler, settings: Settings, *, refuse_others: bool) -> None:
        super().__init__(turn_away, block=handler.block)
        self.handler = handler
        self.settings = settings
        self.triggers = _triggers(handler) if refuse_others else []

    def __repr__(self) -> str:
        return f"admin_only({self.handler!r})"

    def check_update(self, update: object) -> object:
        if not isinstance(update, Update):
            return None
        if in_admin_chat(self.settings, update):
            check = self.handler.check_update(update)
            return None if check is None or check is False else _Admitted(check)
        for trigger in self.triggers:
            check = trigger.check_update(update)
            if check is not None and check is not False:
                return check
        return None

    async def handle_update(
        self,
        update: Update,
        application: Application[Any, Context, Any, Any, Any, Any],
        check_result: object,
        context: Context,
    ) -> Any:
        if isinstance(check_result, _Admitted):
            return await self.handler.handle_update(
                update, application, check_result.check, context
            )
        await turn_away(update, context)
        return None


def _triggers(handler: Handler) -> list[Handler]:
    """What a handler takes that someone else may send: the handler itself; of a conversation,
    its entry points and its steps' buttons, not its typed answers (a stranger's text is a
    search) nor its fallbacks (/cancel is everyone's)."""
    if not isinstance(handler, ConversationHandler):
        return [handler]
    buttons = [
        step
        for steps in handler.states.values()
        for step in steps
        if isinstance(step, CallbackQueryHandler)
    ]
    return [found for inner in [*handler.entry_points, *buttons] for found in _triggers(inner)]


async def turn_away(update: Update, context: Context) -> None:
    """Someone else: a polite no, and the attempt counted. An admin outside their private chat
    (a group): where to go instead, and nothing counted."""
    t = texts(update)
    query = update.callback_query
    if is_admin(context.bot_data.settings, update.effective_user):
        bot = context.bot.username
        if query is not None:
            await query.answer(t("admin.private_only_press", bot=bot), show_alert=True)
        else:
            await reply(update, t("admin.private_only", bot=bot))
        return
    await _count(update, context)
    if query is not None:
        await query.answer(t("admin.refused_press"), show_alert=True)
    else:
        await reply(update, t("admin.refused"))


async def _count(update: Update, context: Context) -> None:
    user, chat = update.effective_user, update.effective_chat
    data = context.bot_data
    attempt = _attempt(update)
    async with data.sessions.begin() as session:
        first = await refusals.count(
            session,
            user_id=user.id if user else None,
            username=user.username if user else None,
            chat_id=chat.id if chat else None,
            command=attempt,
            now=data.clock.now(),
        )
    # A line for the first of a minute: a burst is one line, as it is one row.
    log.log(
        logging.INFO if first else logging.DEBUG,
        "refused %s to user %s",
        attempt,
        user.id if user else None,
    )


def _attempt(update: Update) -> str:
    """What was tried, as a refusal records it: the command word, or the kind of button (its
    data's prefix, one of ours since it matched; the rest is the client's to choose)."""
    query = update.callback_query
    if query is not None:
        # The prefix and, for a draft's button, its flow ("button dr:event").
        return "button " + ":".join((query.data or "").split(":")[:2])
    message = update.effective_message
    words = (message.text or message.caption or "").split() if message else []
    return words[0].split("@", 1)[0].lower() if words else "?"
