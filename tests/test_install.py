"""The bot installed from a wheel, as an operator installs it: content, migrations and paths work
from any directory, with nothing of the checkout to lean on."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import FACTS, RECORD, table_count

ROOT = Path(__file__).resolve().parent.parent
# What a build of a clean clone would not see: environments, caches, build leftovers, data.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "data"
)
# Building (setuptools comes from the package index, as for any build) takes about 10 s.
TIMEOUT = 120


@dataclass(frozen=True)
class Installed:
    wheel: Path
    site: Path
    bin: Path


def run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a command to its end; its output, or a failure that shows it."""
    done = subprocess.run(
        [str(arg) for arg in args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        check=False,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, f"{args[0]} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A wheel built from a copy of the checkout, installed into a new virtual environment.

    The dependencies come from this environment's site-packages, added as a plain path entry:
    installing them again would take minutes, and a path entry's .pth files (the editable
    install's among them) are not read, so only the wheel's own copy of the bot is importable.
    """
    work = tmp_path_factory.mktemp("install")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", work / "dist", source)
    (wheel,) = (work / "dist").glob("coopbot-*.whl")
    venv = work / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(run(python, "-c", where).strip())
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "dependencies.pth").write_text("".join(f"{path}\n" for path in sorted(ours)))
    pip = (sys.executable, "-m", "pip", "--python", python)
    run(*pip, "install", "--no-deps", "--no-index", "--quiet", wheel)
    return Installed(wheel=wheel, site=site, bin=venv / "bin")


def coopbot(installed: Installed, *args: str, cwd: Path, **env: str) -> str:
    """The installed ``coopbot`` command, with nothing of the test's environment but PATH."""
    return run(installed.bin / "coopbot", *args, cwd=cwd, env={"PATH": os.environ["PATH"], **env})


def test_the_wheel_carries_every_module_migration_and_content_file(installed: Installed) -> None:
    expected = {
        str(path.relative_to(ROOT))
        for package in ("bot", "handlers", "storage")
        for path in (ROOT / package).rglob("*")
        if path.suffix in {".py", ".po", ".mako"} and "__pycache__" not in path.parts
    }
    expected |= {
        f"bot/curated/{path.relative_to(ROOT / 'content')}"
        for path in (ROOT / "content").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    with zipfile.ZipFile(installed.wheel) as wheel:
        missing = expected - set(wheel.namelist())
    # A new package must be listed in [tool.setuptools] packages in pyproject.toml.
    assert not missing, f"not in the wheel: {sorted(missing)}"


def test_the_installed_bot_finds_its_content_from_any_directory(
    installed: Installed, tmp_path: Path
) -> None:
    output = coopbot(installed, "content", "check", cwd=tmp_path, HOME=str(tmp_path / "home"))
    shipped = installed.site / "bot" / "curated"
    counted = f"{len(RECORD.sources)} sources, {len(RECORD.topics)} topics"
    assert f"content in {shipped} is valid: {counted}" in output
    assert list(tmp_path.iterdir()) == []


def test_the_installed_bot_keeps_its_database_in_the_data_folder(
    installed: Installed, tmp_path: Path
) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    elsewhere.mkdir()
    output = coopbot(installed, "content", "sync", cwd=elsewhere, HOME=str(home))
    database = home / ".local" / "share" / "coopbot" / "coopbot.db"
    assert output.startswith(f"database: {database}\n")
    assert f"facts: {FACTS} created" in output
    # The migrations ran from the wheel, and the content came from it.
    assert table_count(database, "alembic_version") == 1
    assert table_count(database, "facts") == FACTS
    assert table_count(database, "translations") == len(RECORD.translations)
    assert list(elsewhere.iterdir()) == []


def test_the_installed_bot_puts_a_relative_database_beside_its_config(
    installed: Installed, tmp_path: Path
) -> None:
    folder, elsewhere = tmp_path / "etc", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    config = folder / "coopbot.toml"
    config.write_text('[storage]\nurl = "sqlite+aiosqlite:///data/coopbot.db"\n', "utf-8")
    output = coopbot(
        installed, "content", "sync", "--config", str(config), cwd=elsewhere, HOME=str(tmp_path)
    )
    database = folder / "data" / "coopbot.db"
    assert output.startswith(f"database: {database}\n")
    assert table_count(database, "facts") == FACTS
    assert list(elsewhere.iterdir()) == []
    assert not (tmp_path / ".local").exists()
