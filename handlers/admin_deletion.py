"""/delfact and /restore: a fact hidden from readers, and brought back.

Deleting is soft and undone by /restore, so it asks for no confirmation; both are recorded in
the fact's history like any change.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot.context import App, Context
from bot.curation import fact_drafts, fact_forms
from bot.curation.admins import admin_only
from bot.curation.fact_forms import FormError
from bot.knowledge import refresh
from bot.telegram.replies import reply
from storage import curation


async def delete_fact(update: Update, context: Context) -> None:
    """Hide a fact from /facts and /search; /restore brings it back."""
    await _set_deleted(update, context, delete=True)


async def restore_fact(update: Update, context: Context) -> None:
    await _set_deleted(update, context, delete=False)


async def _set_deleted(update: Update, context: Context, *, delete: bool) -> None:
    t, now = context.texts, context.now
    try:
        command = "delfact" if delete else "restore"
        fact_id = fact_forms.fact_id(context.command_text, command=command)
        async with context.bot_data.sessions.begin() as session:
            fact = await fact_drafts.stored(session, fact_id)
            already = (fact.deleted_at is not None) == delete
            if not already:
                await curation.edit(
                    session,
                    "fact",
                    fact.id,
                    {"deleted_at": now if delete else None},
                    seen_version=fact.version,
                    admin_id=context.user_id,
                    now=now,
                    action=curation.DELETE if delete else curation.RESTORE,
                )
    except FormError as error:
        await reply(update, error.message(t))
        return
    if already:
        if delete:
            await reply(update, t("admin_facts.already_deleted", id=fact.id))
        else:
            await reply(update, t("admin_facts.not_deleted", id=fact.id))
        return
    await refresh(context.bot_data)
    if delete:
        await reply(update, t("admin_facts.deleted", id=fact.id))
    else:
        await reply(update, t("admin_facts.restored", id=fact.id, topic=fact.topic))


def register(app: App) -> None:
    admin_only(
        app,
        [
            CommandHandler("delfact", delete_fact),
            CommandHandler("restore", restore_fact),
        ],
    )
