"""The ``coopbot`` command: run the bot, try it in a sandbox, check and load content, back up
and restore its database, make a webhook secret."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
import tomllib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot import logs
from bot.app import build_app
from bot.curation.content import KINDS, ContentError
from bot.curation.loading import load_content
from bot.curation.translations import Untranslated, untranslated
from bot.runtime import freeze_heap, open_database, serving, stop_on_signals, sync
from bot.settings import Settings, SettingsError, load_settings
from bot.telegram.polling import Interrupted, Unrecoverable
from bot.texts import DEFAULT_LANGUAGE, texts_for
from bot.webhook.settings import new_secret
from storage.backup import BackupError, backup, restore
from storage.urls import database_location

log = logging.getLogger("coopbot")

USAGE_ERROR = 2
# The bot could not go on: a supervisor should restart it (or an operator fix what it names).
FAILED = 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.action is _webhook_secret:
        # Needs no settings: it is how one starts writing them.
        _webhook_secret()
        return 0
    try:
        settings = load_settings(args.config, env=os.environ)
        if getattr(args, "folder", None):
            settings = _with_content(settings, args.folder)
        return int(args.action(settings, args) or 0)
    except SettingsError as error:
        hint = getattr(args, "other_database", None)
        backend = _configured_backend(args.config) if hint else None
        shown = hint(backend) if hint and backend not in (None, "sqlite") else error
        print(f"coopbot: {shown}", file=sys.stderr)
        return USAGE_ERROR
    except ContentError as error:
        print(f"coopbot: {error}", file=sys.stderr)
        print("Fix the files and run `coopbot content check` again.", file=sys.stderr)
        return USAGE_ERROR
    except BackupError as error:
        print(f"coopbot: {error}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coopbot", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", type=Path, help="a TOML config file (default: $COOPBOT_CONFIG, if set)"
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run", parents=[common], help="run the bot (long polling, or a webhook)"
    )
    run.set_defaults(action=_run)

    secret = commands.add_parser(
        "webhook-secret", help="print a new secret token for [telegram] webhook_secret"
    )
    secret.set_defaults(action=_webhook_secret)

    sandbox = commands.add_parser(
        "sandbox", parents=[common], help="chat with the bot in this terminal, offline"
    )
    sandbox.add_argument(
        "--admin", action="store_true", help="be a curator: try the admin commands too"
    )
    sandbox.add_argument(
        "--reset", action="store_true", help="start afresh: delete the sandbox's database first"
    )
    sandbox.add_argument(
        "--files",
        type=Path,
        metavar="FOLDER",
        help="where to save the files the bot sends (default: sandbox-files/ beside sandbox.db)",
    )
    sandbox.set_defaults(action=_sandbox)

    saving = commands.add_parser(
        "backup", parents=[common], help="copy the database, consistently, while the bot runs"
    )
    saving.add_argument("file", type=Path, help="where the copy goes")
    saving.add_argument("--force", action="store_true", help="replace the file if it exists")
    saving.set_defaults(action=_backup, other_database=_use_pg_dump)

    restoring = commands.add_parser(
        "restore", parents=[common], help="put a backup in place of the database (bot stopped)"
    )
    restoring.add_argument("file", type=Path, help="a file `coopbot backup` wrote")
    restoring.set_defaults(action=_restore, other_database=_use_pg_dump)

    content = commands.add_parser("content", help="check or load the curated content")
    content_commands = content.add_subparsers(required=True, metavar="ACTION")
    for name, action, text in (
        ("check", _check_content, "validate the content files"),
        ("sync", _sync_content, "load the content files into the database, idempotently"),
    ):
        sub = content_commands.add_parser(name, parents=[common], help=text)
        sub.add_argument(
            "--folder",
            type=Path,
            help="the content folder (default: [content] folder, else the content the bot ships)",
        )
        sub.set_defaults(action=action)
        if name == "check":
            sub.add_argument(
                "--untranslated",
                action="store_true",
                help="list every item and field not yet translated, language by language",
            )
    return parser


def _with_content(settings: Settings, folder: Path) -> Settings:
    """A folder typed on the command line is taken from the working directory, as a shell would."""
    return dataclasses.replace(settings, content_dir=folder.expanduser().resolve())


def _check_content(settings: Settings, args: argparse.Namespace) -> int:
    records = load_content(settings.content_dir)
    t = texts_for(DEFAULT_LANGUAGE)
    counts = ", ".join(
        t(f"count.{kind.table}", count=len(getattr(records, kind.table))) for kind in KINDS
    )
    print(f"content in {settings.content_dir} is valid: {counts}")
    for missing in untranslated(records):
        print(untranslated_report(missing, listed=args.untranslated))
    return 0


# A language with at most this many fields untranslated has them listed without being asked.
LISTED_UNASKED = 10


def untranslated_report(missing: Untranslated, *, listed: bool) -> str:
    """What one language lacks, as information: counts per kind, and with ``listed`` (or when
    there are few) each item and field."""
    done = missing.total - missing.count
    head = f"{missing.language}: {done} of {missing.total} fields translated"
    if not missing.count:
        return f"{head}, nothing left"
    per_kind = ", ".join(f"{table} {len(pairs)}" for table, pairs in missing.missing.items())
    lines = [f"{head}; untranslated: {per_kind}"]
    if listed or missing.count <= LISTED_UNASKED:
        for table, pairs in missing.missing.items():
            fields: dict[str, list[str]] = {}
            for item_id, name in pairs:
                fields.setdefault(item_id, []).append(name)
            items = ", ".join(
                f"{item_id} ({', '.join(names)})" for item_id, names in fields.items()
            )
            lines.append(f"  {table}: {items}")
    else:
        lines.append("  (coopbot content check --untranslated lists them)")
    return "\n".join(lines)


def _sync_content(settings: Settings, args: argparse.Namespace) -> int:
    async def go() -> None:
        # First, so that a sync from or into an unexpected place is seen before it is made.
        print(f"database: {database_location(settings.storage_url)}")
        print(f"content: {settings.content_dir}")
        async with open_database(settings) as database:
            report = await sync(settings, database.sessions)
        print(report)

    asyncio.run(go())
    return 0


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    """One line: where the copy is, its size and its schema revision."""
    database = _sqlite_file(settings)
    if database is None:
        return USAGE_ERROR
    copy = asyncio.run(backup(database, args.file, force=args.force))
    print(f"backed up to {copy.path} ({_size(copy.size)}, schema revision {copy.revision})")
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    """One line: what was restored, from which revision, and where the replaced data is."""
    database = _sqlite_file(settings)
    if database is None:
        return USAGE_ERROR
    source = args.file.expanduser().resolve()
    done = asyncio.run(restore(source, database, now=datetime.now(UTC)))
    moved = "" if done.revision == done.head else f", migrated to {done.head}"
    kept = f"; the database it replaced is kept as {done.kept}" if done.kept else ""
    print(f"restored {source} into {done.database} (revision {done.revision}{moved}){kept}")
    return 0


def _sqlite_file(settings: Settings) -> Path | None:
    """The database's file, or None (said in one line) for a database server."""
    url = make_url(settings.storage_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        print(f"coopbot: {_use_pg_dump(url.get_backend_name())}", file=sys.stderr)
        return None
    return Path(url.database)


def _configured_backend(path: Path | None) -> str | None:
    """The kind of database storage.url names, read again once the settings refused it: until
    coopbot runs on PostgreSQL its URL is refused, and backup should still name pg_dump."""
    if path is None and os.environ.get("COOPBOT_CONFIG"):
        path = Path(os.environ["COOPBOT_CONFIG"])
    if path is None:
        return None
    try:
        url = tomllib.loads(path.read_text("utf-8"))["storage"]["url"]
        return make_url(url).get_backend_name()
    except (OSError, LookupError, TypeError, ValueError, ArgumentError):
        return None


def _use_pg_dump(backend: str) -> str:
    if backend == "postgresql":
        return (
            "the database is PostgreSQL: back it up with pg_dump and restore it with "
            "pg_restore (README, Backups)"
        )
    return f"only an SQLite database can be backed up or restored by coopbot, not {backend}"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024**2:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024**2:.1f} MiB"


def _run(settings: Settings, args: argparse.Namespace) -> int:
    """Serve until told to stop (exit 0) or until retrying cannot help (one line, exit 1).

    Every way out says what happened in one line, with the token masked: a traceback would
    show it, in a URL or PTB's own message.
    """
    token = settings.require_token()
    secret = settings.webhook.secret.reveal() if settings.webhook else None
    logs.configure(settings.log_level, token, secret, form=settings.log_format)
    mask = logs.masker(token, secret or "")
    try:
        asyncio.run(_serve(settings))
    except Interrupted:
        log.info("coopbot stopped before it reached the Bot API")
    except Unrecoverable as error:
        print(f"coopbot: {mask(str(error))}", file=sys.stderr)
        return FAILED
    except (ContentError, SettingsError):
        raise
    except Exception as error:
        log.debug("the unexpected error in full", exc_info=True)
        print(
            f"coopbot: stopped by an unexpected error, {type(error).__name__}: "
            f"{mask(str(error))} (logging.level = DEBUG shows where)",
            file=sys.stderr,
        )
        return FAILED
    return 0


async def _serve(settings: Settings) -> None:
    log.info(
        "database: %s; content: %s", database_location(settings.storage_url), settings.content_dir
    )
    async with open_database(settings) as database:
        report = await sync(settings, database.sessions)
        log.info("content synced: %s", str(report).replace("\n", "; "))
        app = build_app(settings, database.sessions)
        stopping = app.bot_data.stopping
        with stop_on_signals(stopping):
            async with serving(app):
                freeze_heap()
                log.info("coopbot is running against %s; Ctrl+C stops it", settings.base_url)
                await stopping.wait()
    log.info("coopbot stopped")


def _webhook_secret() -> None:
    """A fresh secret token on one line, for COOPBOT_WEBHOOK_SECRET or webhook_secret."""
    print(new_secret())


def _sandbox(settings: Settings, args: argparse.Namespace) -> int:
    from bot.sandbox import run_sandbox

    logs.configure("WARNING", None)
    asyncio.run(run_sandbox(settings, admin=args.admin, reset=args.reset, files=args.files))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
