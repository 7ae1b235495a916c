"""/stats, /export and /import: how the bot is doing, and the content as files, both ways.

An import is checked with the same rules as ``coopbot content check``, shown as a dry run, and
applied only on Confirm, in one transaction, and only if nothing changed the knowledge since the
dry run. The checked file waits for the Confirm as the admin's draft (the latest one only), so
a restart forgets it: the admin then sends the file again.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from telegram import Document, InputFile, Update
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.context import App, Context
from bot.curation import importing
from bot.curation.admins import admin_only
from bot.curation.content import ContentError
from bot.curation.drafts import Flow
from bot.curation.export import content_files, source_files, zipped
from bot.digest import words
from bot.digest.due import next_fire, summary_trigger, upcoming_reminders
from bot.durations import format_duration
from bot.knowledge import refresh
from bot.telegram.replies import reply
from bot.texts import Html, Texts, join
from storage import exports, imports, knowledge, stats
from storage.sync import ContentRecords

WEEK = timedelta(days=7)
NEXT_REMINDERS = 3
# Problems listed in one answer; the rest are counted (a broken file can have hundreds).
SHOWN_PROBLEMS = 30
# A document whose caption starts with /import.
IMPORT_CAPTION = filters.CaptionRegex(r"^/import(@\w+)?(\s|$)")


@dataclass(frozen=True)
class Draft:
    records: ContentRecords
    tables: frozenset[str]
    # The knowledge revision the dry run was made on.
    revision: int


class ImportFlow(Flow[Draft]):
    """The latest dry run only: a newer file makes an older one's buttons stale."""

    name = "import"
    keep = 1

    def confirm_label(self, t: Texts) -> str:
        return t("admin_oversight.button_import")

    async def write(self, update: Update, context: Context, draft: Draft, token: str) -> Html:
        """Apply the dry run, if the knowledge is as it was."""
        t, data = context.texts, context.bot_data
        async with data.sessions.begin() as session:
            if await knowledge.revision(session) != draft.revision:
                return t("admin_oversight.import_stale")
            outcomes = await imports.apply(
                session, draft.records, draft.tables, admin_id=context.user_id, now=context.now
            )
        await refresh(data)
        return t("admin_oversight.imported", diff=_diff(t, outcomes))


FLOW = ImportFlow()


async def show_stats(update: Update, context: Context) -> None:
    """Subscribers, the last week's deliveries and refusals, the next digests, content counts."""
    t = context.texts
    data = context.bot_data
    now = data.clock.now()
    async with data.sessions() as session:
        found = await stats.collect(session, since=now - WEEK)
    deliveries: Counter[str] = found.deliveries
    await reply(
        update,
        t(
            "admin_oversight.stats",
            active=found.subscribers_active,
            blocked=found.subscribers_blocked,
            sent=deliveries["sent"],
            failed=deliveries["failed"],
            late=found.late,
            skipped=deliveries["skipped"],
            superseded=deliveries["superseded"],
            pending=deliveries["pending"],
            next=_next_digests(t, context, now),
            facts=found.facts_visible,
            deleted=found.facts_deleted,
            upcoming=len(data.knowledge.upcoming(now)),
            over=len(data.knowledge.past(now)),
            cancelled=found.events_cancelled,
            people=found.people,
            facilities=found.facilities,
            sources=found.sources,
            topics=found.topics,
            refusals=found.refusals,
            refused_users=found.refused_users,
        ),
    )


def _next_digests(t: Texts, context: Context, now: datetime) -> Html:
    """The next summary and the next few reminders, as /digest would plan them."""
    data = context.bot_data
    zone = data.settings.zone
    fire = next_fire(summary_trigger(data.settings.digest.summary, zone), after=now)
    lines = [
        t("admin_oversight.next_summary", at=words.moment(t, fire, zone), zone=zone.key)
        if fire is not None
        else t("admin_oversight.no_summary")
    ]
    ahead = upcoming_reminders(
        data.knowledge.upcoming(now), data.settings.digest.lead_times, now=now
    )
    for moment, lead, event in ahead[:NEXT_REMINDERS]:
        lines.append(
            t(
                "admin_oversight.next_reminder",
                at=words.moment(t, moment, zone),
                lead=format_duration(lead),
                title=event.title,
            )
        )
    if not ahead:
        lines.append(t("admin_oversight.no_reminder"))
    return join(lines)


async def export_content(update: Update, context: Context) -> None:
    """The content as one zip of the files content/ holds, source texts included."""
    t = context.texts
    data = context.bot_data
    now = data.clock.now()
    async with data.sessions() as session:
        rows = await exports.content_rows(session)
    header = f"Exported from the coopbot database at {now:%Y-%m-%d %H:%M} UTC."
    files = content_files(rows, header=header)
    files |= await asyncio.to_thread(source_files, rows, data.settings.content_dir)
    await context.bot.send_document(
        context.chat_id,
        InputFile(zipped(files), filename=f"coopbot-content-{now:%Y-%m-%d}.zip"),
        caption=t(
            "admin_oversight.exported",
            facts=len(rows["facts"]),
            events=len(rows["events"]),
            sources=len(rows["sources"]),
        ),
    )


async def import_usage(update: Update, context: Context) -> None:
    """/import as text: how to send the file."""
    await reply(update, context.texts("admin_oversight.import_usage"))


async def receive_import(update: Update, context: Context) -> None:
    """A content file with /import as its caption: check it, then show what it would change."""
    t = context.texts
    message = update.effective_message
    document = message.document if message else None
    assert document is not None  # the filter requires one
    upload = await _download(document)
    if upload is None:
        await reply(update, t("admin_oversight.import_too_big", limit=importing.MAX_BYTES))
        return
    try:
        files = importing.unpack(document.file_name or "", upload)
    except importing.BadUpload as error:
        await reply(update, _bad_upload(t, error.reason, document.file_name or ""))
        return
    data = context.bot_data
    async with data.sessions() as session:
        current = content_files(await exports.content_rows(session), header="current")
    try:
        records = await asyncio.to_thread(
            importing.check, files, current, data.settings.content_dir
        )
    except ContentError as error:
        await reply(update, _problems(t, error.problems))
        return
    tables = importing.tables_of(files)
    async with data.sessions() as session:
        revision = await knowledge.revision(session)
        outcomes = await imports.plan(session, records, tables)
    summary = _diff(t, outcomes)
    if not any(o.outcome in (imports.CREATED, imports.UPDATED) for o in outcomes):
        await reply(update, t("admin_oversight.import_nothing", diff=summary))
        return
    preview = t("admin_oversight.import_preview", diff=summary)
    await FLOW.offer(update, context, Draft(records, tables, revision), preview)


async def _download(document: Document) -> bytes | None:
    """The file's bytes, or None if it is over the cap (checked before and after)."""
    if document.file_size is not None and document.file_size > importing.MAX_BYTES:
        return None
    file = await document.get_file()
    data = bytes(await file.download_as_bytearray())
    return None if len(data) > importing.MAX_BYTES else data


def _bad_upload(t: Texts, reason: str, name: str) -> Html:
    names = ", ".join(importing.FILE_NAMES)
    if reason == importing.NOT_ZIP:
        return t("admin_oversight.import_not_zip", name=name)
    if reason == importing.EMPTY_ZIP:
        return t("admin_oversight.import_empty_zip", name=name, names=names)
    if reason == importing.TOO_BIG:
        return t("admin_oversight.import_too_big", limit=importing.MAX_BYTES)
    return t("admin_oversight.import_not_content", name=name, names=names)


def _problems(t: Texts, problems: list[str]) -> Html:
    shown = [t("admin_oversight.problem", problem=p) for p in problems[:SHOWN_PROBLEMS]]
    more = len(problems) - len(shown)
    if more:
        shown.append(t("admin_oversight.more_problems", count=more))
    return t("admin_oversight.import_invalid", count=len(problems), problems=join(shown))


def _diff(t: Texts, outcomes: list[imports.Outcome]) -> Html:
    """Per kind: created, updated (with the fields), unchanged, kept as an admin left it."""
    lines = []
    for table in dict.fromkeys(o.table for o in outcomes):
        mine = [o for o in outcomes if o.table == table]

        def listed(outcome: str, mine: list[imports.Outcome] = mine) -> tuple[int, str]:
            items = [_item(o) for o in mine if o.outcome == outcome]
            return len(items), ", ".join(items)

        unchanged, _ = listed(imports.UNCHANGED)
        lines.append(t("admin_oversight.diff_kind", kind=table, unchanged=unchanged))
        count, items = listed(imports.CREATED)
        if count:
            lines.append(t("admin_oversight.diff_created", count=count, items=items))
        count, items = listed(imports.UPDATED)
        if count:
            lines.append(t("admin_oversight.diff_updated", count=count, items=items))
        count, items = listed(imports.KEPT)
        if count:
            lines.append(t("admin_oversight.diff_kept", count=count, items=items))
    return join(lines)


def _item(outcome: imports.Outcome) -> str:
    return (
        f"{outcome.item_id} ({', '.join(outcome.fields)})" if outcome.fields else outcome.item_id
    )


def register(app: App) -> None:
    admin_only(
        app,
        [
            CommandHandler("stats", show_stats),
            CommandHandler("export", export_content),
            CommandHandler("import", import_usage),
            MessageHandler(filters.Document.ALL & IMPORT_CAPTION, receive_import),
            FLOW.handler(),
        ],
    )
