"""Reading a content file an admin sent: unpacked, then checked exactly as content/ is.

The upload is laid over the current content (as /export would write it) in a scratch folder and
read with ``bot.curation.loading.load_content``: the same checks, the same messages naming file,
item and field, and references into the files the admin did not send are checked against the
database.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

from bot.curation.content import KINDS, TRANSLATED, TRANSLATIONS
from bot.curation.export import SOURCES_FOLDER
from bot.curation.loading import load_content
from storage.sync import ContentRecords

# Content files are a few kilobytes; a megabyte is room to grow, and caps the download.
MAX_BYTES = 1_000_000
FILE_NAMES = tuple(kind.file for kind in KINDS)
# An /export zip's translations, by their path in it; only a zip brings them.
TRANSLATION_FILES = tuple(f"{TRANSLATIONS}/{language}.toml" for language in TRANSLATED)


class BadUpload(Exception):
    """A file that is not content at all: wrong name, not a zip, nothing in it we know."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


NOT_CONTENT, NOT_ZIP, EMPTY_ZIP, TOO_BIG = "not_content", "not_zip", "empty_zip", "too_big"


def unpack(filename: str, data: bytes) -> dict[str, bytes]:
    """The content files of an upload, by their path in a content folder."""
    if filename.lower().endswith(".zip"):
        return _unzip(data)
    if filename in FILE_NAMES:
        return {filename: data}
    raise BadUpload(NOT_CONTENT)


def _unzip(data: bytes) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise BadUpload(NOT_ZIP) from None
    with archive:
        wanted = [info for info in archive.infolist() if _wanted(info.filename)]
        # The sizes the archive claims are checked before anything is inflated.
        if sum(info.file_size for info in wanted) > MAX_BYTES:
            raise BadUpload(TOO_BIG)
        try:
            files = {info.filename: archive.read(info) for info in wanted}
        except (zipfile.BadZipFile, ValueError, OSError):
            raise BadUpload(NOT_ZIP) from None
    if not any(name in FILE_NAMES or name in TRANSLATION_FILES for name in files):
        raise BadUpload(EMPTY_ZIP)
    return files


def _wanted(name: str) -> bool:
    """One of the item files or the translations, or a text under sources/; nothing that
    could climb out."""
    path = PurePosixPath(name)
    if name in FILE_NAMES or name in TRANSLATION_FILES:
        return True
    return (
        len(path.parts) > 1
        and path.parts[0] == SOURCES_FOLDER
        and ".." not in path.parts
        and not name.endswith("/")
    )


def check(
    upload: Mapping[str, bytes], current: Mapping[str, bytes], content_dir: Path
) -> ContentRecords:
    """The upload over the current content, read and checked; ContentError lists every problem."""
    with tempfile.TemporaryDirectory(prefix="coopbot-import-") as scratch:
        folder = Path(scratch)
        sources = content_dir / SOURCES_FOLDER
        if sources.is_dir():
            shutil.copytree(sources, folder / SOURCES_FOLDER)
        for name, data in {**current, **upload}.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return load_content(folder)


def tables_of(upload: Mapping[str, bytes]) -> frozenset[str]:
    """The kinds an upload brings (``facts``, ..., ``translations``): only these are imported."""
    kinds = {name.removesuffix(".toml") for name in upload if name in FILE_NAMES}
    if any(name in TRANSLATION_FILES for name in upload):
        kinds.add(TRANSLATIONS)
    return frozenset(kinds)
