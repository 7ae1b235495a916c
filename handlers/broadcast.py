"""/broadcast: an admin's message to every subscribed chat, through the digest ledger.

``/broadcast <text>`` makes a draft and shows it exactly as the chats will get it (the text is
escaped: tags and markup show as typed), with the number of recipients and three buttons. A test
goes to the admin alone. Sending writes a broadcast digest and all its deliveries in one
transaction, under a key made from the draft's token, so a second press finds it there; then the
digest tick runs at once and sends it like any digest: paced at low priority, each send marked,
blocked chats deactivated, resumed after a restart, with one progress message in the admin's chat
edited as it goes (bot/digest/progress.py). Drafts are kept as every admin flow keeps them
(bot/curation/drafts.py): a restart forgets drafts, never a broadcast already confirmed.

Recipients: every active chat with a subscription that wants events or news; a chat that turned
both off hears nothing from us. The digest channel gets digests, not broadcasts.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import App, Context, pressed
from bot.curation.admins import admin_only
from bot.curation.drafts import DECISIONS, DraftPress, Flow
from bot.telegram.keyboards import button
from bot.telegram.replies import reply
from bot.texts import Html, texts_for
from storage import digests
from storage.bot_models import Digest
from storage.digests import BROADCAST, NewDigest

log = logging.getLogger(__name__)

# The button of a broadcast's own: a copy to the admin alone.
TEST = "test"


class BroadcastFlow(Flow[Html]):
    """A draft is the message as the chats will get it."""

    name = "bcast"

    async def choose(
        self, update: Update, context: Context, press: DraftPress, draft: Html
    ) -> None:
        """A test: the message to the admin alone; the draft stays."""
        query, _ = pressed(update)
        await query.answer(context.texts("broadcast.test_sent"))
        await reply(update, draft)

    async def write(self, update: Update, context: Context, draft: Html, token: str) -> None:
        """Write the broadcast and its ledger, then have the digest tick send it now. The
        preview stays as the record of what went out; its buttons go."""
        t, data = context.texts, context.bot_data
        # Sent first, so that the broadcast is written with it, in the same transaction as its
        # ledger.
        progress = await reply(update, t("broadcast.starting"))
        assert progress is not None  # a press comes from a chat
        now = context.now
        key = digests.broadcast_key(token)
        broadcast = NewDigest(
            key=key,
            kind=BROADCAST,
            due_at=now,
            text=draft,
            admin_id=context.user_id,
            progress_chat_id=progress.chat_id,
            progress_message_id=progress.message_id,
        )
        async with data.sessions.begin() as session:
            created = await digests.create(session, digest=broadcast, now=now)
            if created:
                audience = digests.broadcast_audience()
                await digests.fill(
                    session, digest_id=key, audience=audience, channel_id=None, now=now
                )
        if not created:
            await progress.edit_text(t("broadcast.already_sent"))
            return
        log.info("broadcast %s confirmed by admin %s", key, context.user_id)
        # Now rather than at the tick's next turn; a tick already running goes round once more.
        context.bot_data.ticker.kick()

    async def gone(self, context: Context, token: str) -> str | None:
        """A double press finds the draft gone because it was sent: say so."""
        async with context.bot_data.sessions() as session:
            sent = await session.get(Digest, digests.broadcast_key(token))
        return context.texts("broadcast.already_sent") if sent else None


FLOW = BroadcastFlow()


async def draft_broadcast(update: Update, context: Context) -> None:
    """A preview of the message as the chats will get it, with the buttons to go on."""
    t = context.texts
    text = context.command_text
    if not text:
        await reply(update, t("broadcast.usage"))
        return
    # In the digests' language, like every digest: it is for the chats, not for the admin.
    html = texts_for(None)("broadcast.message", text=text)
    async with context.bot_data.sessions() as session:
        count = await digests.audience_size(session, digests.broadcast_audience())
    if count:
        await reply(update, t("broadcast.preview", count=count))
    else:
        await reply(update, t("broadcast.preview_nobody"))
    await FLOW.offer(
        update,
        context,
        html,
        html,
        above=lambda token: [[button(t("broadcast.button_test"), FLOW.press(token, TEST))]],
        confirm=t("broadcast.button_send", count=count) if count else None,
    )


def register(app: App) -> None:
    admin_only(
        app,
        [
            CommandHandler("broadcast", draft_broadcast),
            FLOW.handler(f"{DECISIONS}|{TEST}"),
        ],
    )
