"""The bot token never reaches a log line, even at DEBUG with every library talking, nor what
`coopbot run` prints when it cannot start."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from bot.logs import MASK, redact_records
from tests.conftest import TEST_TOKEN, Running, closed_port
from tests.helpers import config_file, start_bot


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_log() -> Iterator[Collect]:
    """Everything logged at DEBUG, from every logger, with the token masking in place."""
    root = logging.getLogger()
    collect = Collect()
    level = root.level
    undo = redact_records(TEST_TOKEN)
    root.addHandler(collect)
    root.setLevel(logging.DEBUG)
    try:
        yield collect
    finally:
        root.removeHandler(collect)
        root.setLevel(level)
        undo()


async def test_token_is_masked_in_every_log_line_at_debug(
    debug_log: Collect, running: Running
) -> None:
    chat = running.chat()
    page = await chat.send("/facilities")
    await chat.press(page, "Next ›")
    await chat.send("/search DIRAC")
    logging.getLogger("anything").error("url was https://x/bot%s/getMe", TEST_TOKEN)
    quoted = TEST_TOKEN.replace(":", "%3A")
    logging.getLogger("httpx").info("HTTP Request: GET http://x/file/bot%s/doc/1", quoted)
    try:
        raise RuntimeError(f"request to /bot{TEST_TOKEN}/getMe failed")
    except RuntimeError:
        logging.getLogger("anything").exception("a failure with the token in its traceback")

    assert len(debug_log.lines) > 20
    secret = TEST_TOKEN.split(":")[1]
    assert not [line for line in debug_log.lines if secret in line]
    assert any(MASK in line for line in debug_log.lines)


# A real `coopbot run` against a Bot API that is wrong in each way a start can fail: whatever it
# prints, on stdout or stderr, says what is wrong in one line and never shows the token.

TIMEOUT = 60.0


@asynccontextmanager
async def answering(
    respond: Callable[[web.Request], web.StreamResponse],
) -> AsyncIterator[str]:
    """A tiny HTTP server on loopback that answers every request with `respond`; its base URL."""

    async def handle(request: web.Request) -> web.StreamResponse:
        return respond(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/bot"
    finally:
        await runner.cleanup()


class Run:
    """`coopbot run` on this checkout, its output read line by line as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stderr: list[str] = []
        self.stdout = ""

    async def line_with(self, text: str) -> None:
        """Until stderr has a line containing `text`."""
        assert self.process.stderr is not None
        async with asyncio.timeout(TIMEOUT):
            while not any(text in line for line in self.stderr):
                line = await self.process.stderr.readline()
                assert line, f"coopbot ended before saying {text!r}: {self.stderr}"
                self.stderr.append(line.decode())

    async def end(self) -> int:
        out, err = await asyncio.wait_for(self.process.communicate(), TIMEOUT)
        self.stdout = out.decode()
        self.stderr.extend(err.decode().splitlines(keepends=True))
        assert self.process.returncode is not None
        return self.process.returncode

    def assert_never_shows_the_token(self) -> None:
        secret = TEST_TOKEN.split(":")[1]
        printed = "".join(self.stderr) + self.stdout
        assert secret not in printed
        assert TEST_TOKEN.replace(":", "%3A") not in printed
        assert "Traceback" not in printed
        assert "Unclosed" not in printed


@asynccontextmanager
async def coopbot_run(tmp_path: Path, base_url: str) -> AsyncIterator[Run]:
    config = config_file(tmp_path, telegram=f'base_url = "{base_url}"')
    process = await start_bot(config)
    try:
        yield Run(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def unauthorized(request: web.Request) -> web.StreamResponse:
    return web.json_response(
        {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
    )


def to_itself(request: web.Request) -> web.StreamResponse:
    return web.Response(status=302, headers={"Location": str(request.rel_url)})


def not_found(request: web.Request) -> web.StreamResponse:
    return web.Response(status=404, text="404 page not found")


@pytest.mark.parametrize(
    ("respond", "last_line"),
    [
        (unauthorized, "coopbot: telegram.token: the Bot API refused the token"),
        (to_itself, "coopbot: telegram.base_url: http://127.0.0.1:"),
    ],
)
async def test_a_start_that_retrying_cannot_fix_ends_in_one_line_without_the_token(
    tmp_path: Path,
    respond: Callable[[web.Request], web.StreamResponse],
    last_line: str,
) -> None:
    async with answering(respond) as base_url, coopbot_run(tmp_path, base_url) as run:
        assert await run.end() == 1
    run.assert_never_shows_the_token()
    assert run.stderr[-1].startswith(last_line)
    assert run.stdout == ""


@pytest.mark.parametrize("where", ["not found", "closed port"])
async def test_a_start_that_may_come_right_retries_a_line_at_a_time_until_sigterm(
    tmp_path: Path, where: str
) -> None:
    async with AsyncExitStack() as stack:
        base_url = (
            await stack.enter_async_context(answering(not_found))
            if where == "not found"
            else f"http://127.0.0.1:{closed_port()}/bot"
        )
        run = await stack.enter_async_context(coopbot_run(tmp_path, base_url))
        await run.line_with("reaching the Bot API failed (attempt 2)")
        run.process.send_signal(signal.SIGTERM)
        assert await run.end() == 0
    run.assert_never_shows_the_token()
    assert "coopbot stopped" in run.stderr[-1]
    assert run.stdout == ""
