"""Draft, preview, Confirm or Cancel: the one way an admin's change waits for a decision.

Every admin flow that writes (facts, events, import, broadcast, revert) shows a preview and
keeps its draft here, in the admin's own ``UserData``, under a random token that the preview's
buttons carry. A press finds only the presser's own drafts: a button from someone else's
screen, from an older preview or from before a restart finds none, and gets the one stale
answer. A draft is taken before it is written, so a second press writes nothing.

A flow is its fields, its preview and its write (``Flow.write``); the store, the buttons, the
press handler and the conflict report are here.
"""

from __future__ import annotations

import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any, ClassVar, Generic, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler

from bot.context import Context, pressed
from bot.curation.admins import admin_named
from bot.curation.moments import written
from bot.telegram.callbacks import CallbackData
from bot.telegram.keyboards import button
from bot.telegram.replies import drop_buttons, replace, reply
from bot.texts import Html, Texts
from storage import curation
from storage.curation import Stamp

# Drafts kept per admin and flow; an older one is forgotten once there are more.
KEPT = 10
# 48 bits: a token cannot be guessed, and it fits beside a button's other fields in 64 bytes.
TOKEN_BYTES = 6
TOKEN = f"[0-9a-f]{{{2 * TOKEN_BYTES}}}"

Draft = TypeVar("Draft")


class Choice(StrEnum):
    """What the buttons under every preview say."""

    CONFIRM = "ok"
    CANCEL = "no"


# The choices under every preview, as a pattern of button data.
DECISIONS = f"{Choice.CONFIRM}|{Choice.CANCEL}"


@dataclass(frozen=True)
class DraftPress(CallbackData):
    """A press on a button under a draft: its flow, the draft's token, and the choice made
    (Confirm, Cancel, or a step of the flow's own, such as a topic picked)."""

    prefix: ClassVar[str] = "dr"
    flow: str
    token: str
    choice: str

    @classmethod
    def matching(cls, flow: str, choice: str) -> re.Pattern[str]:
        """Presses of one flow whose choice matches ``choice`` (a regular expression)."""
        return re.compile(f"^{cls.prefix}:{re.escape(flow)}:{TOKEN}:(?:{choice})$")


class Drafts(Generic[Draft]):
    """One admin's drafts of one flow, each under the token its buttons carry; the newest
    ``keep`` are kept."""

    def __init__(self, context: Context, flow: str, *, keep: int = KEPT) -> None:
        self._drafts: dict[str, Draft] = context.drafts.setdefault(flow, {})
        self._keep = keep

    def add(self, draft: Draft) -> str:
        """Keep a draft; the token for its buttons."""
        token = secrets.token_hex(TOKEN_BYTES)
        self._drafts[token] = draft
        for old in list(self._drafts)[: -self._keep]:
            del self._drafts[old]
        return token

    def get(self, token: str) -> Draft | None:
        return self._drafts.get(token)

    def pop(self, token: str) -> Draft | None:
        return self._drafts.pop(token, None)

    def latest(self) -> tuple[str, Draft] | None:
        """The draft made last, with its token: the one typed answers go to."""
        return next(reversed(self._drafts.items()), None)

    def clear(self) -> None:
        self._drafts.clear()


Rows = Sequence[Sequence[InlineKeyboardButton]]


class Flow(ABC, Generic[Draft]):
    """An admin flow that previews a draft and writes it on Confirm."""

    # Its name in button data: short, as the data is at most 64 bytes.
    name: ClassVar[str]
    keep: ClassVar[int] = KEPT

    def drafts(self, context: Context) -> Drafts[Draft]:
        return Drafts(context, self.name, keep=self.keep)

    def press(self, token: str, choice: str) -> DraftPress:
        return DraftPress(self.name, token, choice)

    async def offer(
        self,
        update: Update,
        context: Context,
        draft: Draft,
        preview: Html,
        *,
        above: Callable[[str], Rows] | None = None,
        confirm: str | None = "",
    ) -> str:
        """Show the preview with Confirm and Cancel below any rows of the flow's own (``above``
        makes them for the token), and keep the draft under the buttons' token. ``confirm``
        relabels Confirm; None leaves it out (nothing to confirm, only to try or to cancel)."""
        t = context.texts
        token = self.drafts(context).add(draft)
        rows = [list(row) for row in above(token)] if above else []
        last = [button(t("drafts.cancel"), self.press(token, Choice.CANCEL))]
        if confirm is not None:
            label = confirm or self.confirm_label(t)
            last.insert(0, button(label, self.press(token, Choice.CONFIRM)))
        await reply(update, preview, InlineKeyboardMarkup([*rows, last]))
        return token

    async def pressed(self, update: Update, context: Context) -> tuple[DraftPress, Draft] | None:
        """The press and the presser's draft it is for; a press on no draft of theirs is
        answered (stale) and None returned."""
        try:
            found: tuple[DraftPress, Draft] = await pressed_draft(
                update, context, self.name, gone=partial(self.gone, context)
            )
        except LookupError:
            return None
        return found

    async def given(self, update: Update, context: Context, prefix: str = "") -> str | None:
        """What a conversation step was given: the text typed, or the choice of the button
        pressed on the draft under way without its ``prefix``; None for a press on an older
        draft's button, which is answered as stale."""
        query = update.callback_query
        if query is None:
            return context.text
        found = await self.pressed(update, context)
        if found is None:
            return None
        await query.answer()
        return found[0].choice.removeprefix(prefix)

    async def answer(self, update: Update, context: Context) -> bool:
        """Confirm writes the draft, Cancel drops it; whether the press was on a live draft."""
        found = await self.pressed(update, context)
        if found is None:
            return False
        press, draft = found
        query, _ = pressed(update)
        if press.choice not in (Choice.CONFIRM, Choice.CANCEL):
            await self.choose(update, context, press, draft)
            return True
        # Taken first: a second press, however quick, finds nothing to write.
        self.drafts(context).pop(press.token)
        await query.answer()
        if press.choice == Choice.CANCEL:
            await replace(query, context.texts("drafts.cancelled"))
            return True
        outcome = await self.write(update, context, draft, press.token)
        if outcome is None:
            await drop_buttons(query)
        else:
            await replace(query, outcome)
        return True

    def confirm_label(self, t: Texts) -> str:
        """The text of the Confirm button: what confirming does, where the flow says it best."""
        return t("drafts.confirm")

    @abstractmethod
    async def write(
        self, update: Update, context: Context, draft: Draft, token: str
    ) -> Html | None:
        """Write a confirmed draft: what the preview becomes, or None to keep the preview
        (without its buttons) when the flow has answered in a message of its own."""

    async def choose(
        self, update: Update, context: Context, press: DraftPress, draft: Draft
    ) -> None:
        """A button of the flow's own under a draft (a test send, say)."""
        raise NotImplementedError(f"{self.name} has no buttons of its own")

    async def gone(self, context: Context, token: str) -> str | None:
        """Why a draft is no longer kept, where the flow can tell more than "gone"."""
        return None

    def pattern(self, choices: str = DECISIONS) -> re.Pattern[str]:
        """This flow's presses whose choice matches ``choices`` (a regular expression)."""
        return DraftPress.matching(self.name, choices)

    def handler(self, choices: str = DECISIONS) -> CallbackQueryHandler[Context, bool]:
        """The handler of this flow's presses, to register behind the admin gate."""
        return CallbackQueryHandler(self.answer, pattern=self.pattern(choices))


def changed_by(t: Texts, context: Context, stamp: Stamp | None) -> Html:
    """Who changed an item and when, as a conflict report says it."""
    if stamp is None:
        return t("drafts.changed_by_sync")
    zone = context.bot_data.settings.zone.key
    admin = admin_named(t, context.bot_data.admin_names, stamp.admin_id)
    return t("drafts.changed_by", admin=admin, at=written(stamp.at, precision="minute", zone=zone))


async def conflict(
    context: Context, error: curation.Conflict, shown: Callable[[Any], Html]
) -> Html:
    """A change refused because the item moved on since its preview: who changed it and when,
    and the item as it is now, ``shown`` as the flow shows it. A conflict found by the version
    check (the other write committed between our read and our write) names nobody, so the
    item's latest change is looked up."""
    t, kind, item_id = context.texts, error.kind, error.item_id
    stamp = error.latest
    async with context.bot_data.sessions() as session:
        item = await curation.get(session, kind, item_id)
        if stamp is None:
            latest = await curation.latest_change(session, kind, item_id)
            if latest is not None:
                stamp = Stamp(latest.id, latest.admin_id, latest.at)
    who = changed_by(t, context, stamp)
    return t("drafts.conflict", id=item_id, who=who, current=shown(item))


async def pressed_draft(
    update: Update,
    context: Context,
    flow: str,
    *,
    gone: Callable[[str], Awaitable[str | None]] | None = None,
) -> tuple[DraftPress, Any]:
    """The press on a flow's button and the presser's draft of that flow (also for a flow that
    starts from another's button: a fact drafted from a source's sentence). LookupError when the
    presser has no such draft, after answering the press as stale: with what ``gone`` says of
    the token, where the flow can tell more."""
    query, data = pressed(update)
    press = DraftPress.parse(data)
    draft = Drafts[Any](context, flow).get(press.token)
    if draft is None:
        said = await gone(press.token) if gone is not None else None
        await query.answer(said or context.texts("drafts.gone"), show_alert=True)
        raise LookupError(f"no {flow} draft under the pressed token")
    return press, draft
