"""/broadcast: an admin's message to every subscribed chat, through the digest ledger.

``/broadcast <text>`` makes a draft and shows it exactly as the chats will get it (the text is
escaped: tags and markup show as typed), with the number of recipients and three buttons. A test
goes to the admin alone. Sending writes a broadcast digest and all its deliveries in one
transaction, under a key made from the draft's token, so a second press finds it there; then the
digest tick runs at once and sends it like any digest: paced at low priority, each send marked,
blocked chats deactivated, resumed after a restart, with one progress message in the admin's chat
edited as it goes (bot/digest/progress.py). Drafts live in the admin's drafts, under the token the
buttons carry: a press finds only the presser's own, and a restart forgets drafts, never a
broadcast already confirmed.

Recipients: every active chat with a subscription that wants events or news; a chat that turned
both off hears nothing from us. The digest channel gets digests, not broadcasts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import ClassVar

from telegram import CallbackQuery, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import App, Context, pressed, texts
from bot.curation.admins import Drafts, admin_only
from bot.telegram.callbacks import CallbackData
from bot.telegram.keyboards import button, keyboard
from bot.telegram.replies import drop_buttons, replace, reply
from bot.texts import Html, Texts, texts_for
from storage import digests
from storage.digests import BROADCAST, NewDigest
from storage.models import Digest

log = logging.getLogger(__name__)

TEST, SEND, CANCEL = "test", "send", "cancel"


@dataclass(frozen=True)
class BroadcastAction(CallbackData):
    """A button under a draft: "test", "send" or "cancel", and the draft's token."""

    prefix: ClassVar[str] = "bc"
    action: str
    token: str


def _drafts(context: Context) -> Drafts[Html]:
    """The admin's drafts, as the chats will get them."""
    return Drafts(context, "broadcast")


async def draft_broadcast(update: Update, context: Context) -> None:
    """A preview of the message as the chats will get it, with the buttons to go on."""
    t = texts(update)
    message = update.effective_message
    assert message is not None  # a command comes in a message
    words = (message.text or "").split(maxsplit=1)
    if len(words) < 2 or not words[1].strip():
        await reply(update, t("broadcast.usage"))
        return
    # In the digests' language, like every digest: it is for the chats, not for the admin.
    html = texts_for(None)("broadcast.message", text=words[1].strip())
    async with context.bot_data.sessions() as session:
        count = await digests.audience_size(session, digests.broadcast_audience())
    token = _drafts(context).add(html)
    rows = [[button(t("broadcast.button_test"), BroadcastAction(TEST, token))]]
    if count:
        send = button(t("broadcast.button_send", count=count), BroadcastAction(SEND, token))
        rows.append([send])
        await reply(update, t("broadcast.preview", count=count))
    else:
        await reply(update, t("broadcast.preview_nobody"))
    rows.append([button(t("broadcast.button_cancel"), BroadcastAction(CANCEL, token))])
    await reply(update, html, keyboard(rows))


async def answer_draft(update: Update, context: Context) -> None:
    """A press on a draft's button: test, send or cancel."""
    query, data = pressed(update)
    press = BroadcastAction.parse(data)
    t = texts(update)
    html = _drafts(context).get(press.token)
    if html is None:
        await query.answer(await _why_gone(context, t, press.token))
    elif press.action == TEST:
        await query.answer(t("broadcast.test_sent"))
        await reply(update, html)
    elif press.action == CANCEL:
        _drafts(context).pop(press.token)
        await query.answer()
        await replace(query, t("broadcast.cancelled"))
    else:
        await query.answer()
        await _send(update, context, query, press.token, html)


async def _why_gone(context: Context, t: Texts, token: str) -> str:
    """A press on a draft no longer kept: sent already (a double press), or else gone."""
    async with context.bot_data.sessions() as session:
        sent = await session.get(Digest, digests.broadcast_key(token))
    return t("broadcast.already_sent") if sent else t("broadcast.gone")


async def _send(
    update: Update, context: Context, query: CallbackQuery, token: str, html: Html
) -> None:
    """Write the broadcast and its ledger, then have the digest tick send it now."""
    t = texts(update)
    data = context.bot_data
    user = update.effective_user
    assert user is not None  # a press comes from a user
    # Sent first, so that the broadcast is written with it, in the same transaction as its ledger.
    progress = await reply(update, t("broadcast.starting"))
    assert progress is not None  # a press comes from a chat
    now = data.clock.now()
    key = digests.broadcast_key(token)
    broadcast = NewDigest(
        key=key,
        kind=BROADCAST,
        due_at=now,
        text=html,
        admin_id=user.id,
        progress_chat_id=progress.chat_id,
        progress_message_id=progress.message_id,
    )
    async with data.sessions.begin() as session:
        created = await digests.create(session, digest=broadcast, now=now)
        if created:
            audience = digests.broadcast_audience()
            await digests.fill(session, digest_id=key, audience=audience, channel_id=None, now=now)
    _drafts(context).pop(token)
    if not created:
        await progress.edit_text(t("broadcast.already_sent"))
        return
    log.info("broadcast %s confirmed by admin %s", key, user.id)
    # The preview stays as the record of what went out; its buttons go.
    await drop_buttons(query)
    # Now rather than at the tick's next turn; a tick already running goes round once more.
    context.bot_data.ticker.kick()


def register(app: App) -> None:
    admin_only(
        app,
        [
            CommandHandler("broadcast", draft_broadcast),
            CallbackQueryHandler(answer_draft, pattern=BroadcastAction.pattern()),
        ],
    )
