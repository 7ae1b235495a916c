"""The house rules every change keeps: ruff clean and formatted, mypy strict, short modules."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

# No database: run on the SQLite pass only (tests/conftest.py).
pytestmark = pytest.mark.no_database

ROOT = Path(__file__).parent.parent
CHECKS = {
    "ruff check": [sys.executable, "-m", "ruff", "check", "."],
    "ruff format": [sys.executable, "-m", "ruff", "format", "--check", "."],
    "mypy": [sys.executable, "-m", "mypy", "bot", "handlers", "storage", "tests", "bench"],
}


@pytest.mark.parametrize("name", CHECKS)
def test_code_passes(name: str) -> None:
    result = subprocess.run(
        CHECKS[name], cwd=ROOT, capture_output=True, text=True, check=False, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr


# Data, not code: a newer release is only ever more right.
UNBOUNDED = {"tzdata"}


def test_every_dependency_has_a_ceiling_a_release_cannot_break() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    requirements = [Requirement(text) for text in wanted]
    open_ended = [
        str(requirement)
        for requirement in requirements
        if requirement.name not in UNBOUNDED
        and not any(spec.operator in ("<", "<=", "==", "~=") for spec in requirement.specifier)
    ]
    assert open_ended == []


# A suppression with nothing after its codes: neither "(why)" nor "# why".
UNEXPLAINED = re.compile(r"#\s*(?:noqa\b|type:\s*ignore)[^#(]*$")


def test_every_suppression_says_why() -> None:
    """STYLE rule 11: a `noqa` or `type: ignore` carries its reason, for the next reader."""
    silent = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("bot", "handlers", "storage", "tests", "bench")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1)
        if UNEXPLAINED.search(line)
    ]
    assert silent == []


# What the digest engine may not reach, even through another module: the handlers' shared state
# and the handlers themselves (issue 13: it is given an Engine, not BotData).
DIGEST_ENGINE_AVOIDS = ("bot.context", "bot.app", "handlers")


def _project_imports(module: str) -> set[str]:
    """The project modules (bot, handlers, storage) that a module imports, as dotted names."""
    path = ROOT / Path(*module.split("."))
    source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found = set()
    for node in ast.walk(ast.parse(source.read_text("utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        for name in names:
            path = ROOT / Path(*name.split("."))
            if name.split(".")[0] in ("bot", "handlers", "storage") and (
                path.is_dir() or path.with_suffix(".py").is_file()
            ):
                found.add(name)
    return found


def test_the_digest_engine_reaches_neither_the_handlers_nor_their_shared_state() -> None:
    todo = [f"bot.digest.{path.stem}" for path in sorted((ROOT / "bot" / "digest").glob("*.py"))]
    seen: dict[str, str] = {}
    while todo:
        module = todo.pop()
        for imported in _project_imports(module) - seen.keys():
            seen[imported] = module
            todo.append(imported)
    reached = {
        f"{name} (from {seen[name]})"
        for name in seen
        if any(name == avoid or name.startswith(f"{avoid}.") for avoid in DIGEST_ENGINE_AVOIDS)
    }
    assert reached == set()


# STYLE rule 14 (folders by job) and issue 13: past this many lines a module holds more than one
# job. The bot's own packages are held to it; tests/ and bot/emulator/ (a stand-in for Telegram,
# not the bot) are not.
LINE_LIMIT = 400
# An admin handler module is one feature's commands, so less.
ADMIN_HANDLER_LIMIT = 300
SIZED = ("bot", "handlers", "storage", "bench")
UNSIZED = ("bot/emulator/",)


def _limit(module: str) -> int:
    admin_handler = re.fullmatch(r"handlers/admin_\w+\.py", module)
    return ADMIN_HANDLER_LIMIT if admin_handler else LINE_LIMIT


def _module_lengths() -> dict[str, int]:
    """Every sized module, by its path from the repository's root, with its number of lines."""
    return {
        module: len(path.read_text("utf-8").splitlines())
        for folder in SIZED
        for path in sorted((ROOT / folder).rglob("*.py"))
        if not (module := path.relative_to(ROOT).as_posix()).startswith(UNSIZED)
    }


def test_no_module_is_longer_than_its_limit() -> None:
    """Each module over its limit is listed, with its length, not only the first found."""
    too_long = [
        f"{module}: {lines} lines, limit {_limit(module)}"
        for module, lines in _module_lengths().items()
        if lines > _limit(module)
    ]
    assert too_long == []
