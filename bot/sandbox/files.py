"""The sandbox's files on this machine: its database, deleted on --reset, and the folder where
the files the bot sends are saved.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.emulator.values import Document

# Beside the sandbox's database, so that one data folder holds all the sandbox leaves behind.
FILES_FOLDER = "sandbox-files"

# SQLite's own files beside a database: its write-ahead log, shared memory and rollback journal.
_COMPANIONS = ("-wal", "-shm", "-journal")


def database_path(storage_url: str) -> Path:
    """The SQLite file of a sandbox database URL (see ``sandbox_storage_url``)."""
    database = make_url(storage_url).database
    if not database:
        raise ValueError(f"the sandbox needs an SQLite file, not {storage_url!r}")
    return Path(database)


def remove_database(path: Path) -> None:
    """Delete the database and SQLite's files beside it, so that the next open starts afresh."""
    for name in (path.name, *(path.name + suffix for suffix in _COMPANIONS)):
        path.with_name(name).unlink(missing_ok=True)


def typed_path(typed: str) -> Path:
    """A path as typed after /import: quoted or backslash-escaped as a shell takes it (a file
    dropped on a terminal comes so), or else as it stands; ~ is the home folder."""
    try:
        words = shlex.split(typed)
    except ValueError:  # an unclosed quote: the name itself has one
        words = []
    return Path(words[0] if len(words) == 1 else typed).expanduser()


def default_files_folder(database: Path) -> Path:
    """Where the bot's files are saved unless --files says otherwise: beside the database."""
    return database.with_name(FILES_FOLDER)


class Downloads:
    """The files the bot sent, each saved once in the folder, never over another file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._saved: dict[str, Path] = {}

    def save(self, document: Document) -> Path:
        """Where the file is saved: written when first sent, found again when sent once more or
        when its message is edited. OSError if it cannot be written."""
        saved = self._saved.get(document.file_unique_id)
        if saved is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            saved = self._saved[document.file_unique_id] = _write_new(
                self.folder, _safe_name(document), document.content
            )
        return saved


def _safe_name(document: Document) -> str:
    """The file's own name, without any folders a sender could slip into it."""
    name = Path(document.filename.replace("\\", "/")).name
    return name if name not in {"", ".", ".."} else document.file_id


def _write_new(folder: Path, name: str, content: bytes) -> Path:
    """Write to `name` in the folder, or to name-2, name-3 … if it is taken."""
    plain = Path(name)
    path, number = folder / name, 1
    while True:
        try:
            with path.open("xb") as file:
                file.write(content)
        except FileExistsError:
            number += 1
            path = folder / f"{plain.stem}-{number}{plain.suffix}"
        else:
            return path
