"""What the benchmarks share: a bot in its own process, load drivers, and percentiles.

Latency is taken from the emulator's side, as a user would see it: from the moment an update is
queued to the moment the bot's message is recorded in that chat (the emulator wakes the chat's
waiter when it records one, so nothing here sleeps or polls).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bots import TOKEN, settings_for

from bot.emulator import BotApiEmulator, User
from bot.emulator.values import JsonDict
from bot.runtime import open_database, sync

BOTS = Path(__file__).with_name("bots.py")
# Far beyond any healthy latency here; a bot that stalls fails the run instead of hanging it.
REPLY_TIMEOUT = 60.0
START_TIMEOUT = 60.0
# A reply in several messages goes out one message after another, each within milliseconds of
# the last; this long without a new one means the bot has said all it will.
QUIET = 0.3

Script = tuple[User, Sequence[str]]
"""One user and the texts they send, in order, in their private chat."""


async def prepare_database(db: str | Path) -> None:
    """A migrated database at `db` (a file or a URL) with content/ loaded, as `coopbot run`
    leaves it."""
    settings = settings_for(db)
    async with open_database(settings) as database:
        await sync(settings, database.sessions)


@dataclass(frozen=True)
class Transport:
    """The settings a contender says it runs with, so the other can be given the same."""

    pool: int
    concurrent: int


@dataclass(frozen=True)
class BotProcess:
    """A contender polling the emulator."""

    process: asyncio.subprocess.Process
    transport: Transport

    def cpu_seconds(self) -> float:
        """User plus system CPU time the bot's process has used so far (Linux /proc)."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def start_profile(self) -> None:
        """Tell a bot started with a profile path to begin profiling now."""
        self.process.send_signal(signal.SIGUSR1)


@asynccontextmanager
async def bot_process(
    emulator: BotApiEmulator,
    contender: str,
    *,
    db: str | Path | None = None,
    replies: Path | None = None,
    pool: int | None = None,
    concurrent: int | None = None,
    profile: Path | None = None,
    aiohttp: bool = False,
) -> AsyncIterator[BotProcess]:
    """The contender polling `emulator`; stopped with SIGTERM on the way out."""
    args = [str(BOTS), contender, "--base-url", emulator.base_url]
    options = {"--db": db, "--replies": replies, "--pool": pool, "--concurrent": concurrent}
    for flag, value in options.items():
        if value is not None:
            args += [flag, str(value)]
    if profile is not None:
        args += ["--profile", str(profile)]
    if aiohttp:
        args.append("--aiohttp")
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
        if not line:
            raise RuntimeError(f"{contender} exited before it started polling")
        announced = json.loads(line)
        transport = Transport(int(announced["pool"]), int(announced["concurrent"]))
        await emulator.wait_for_call("getUpdates", timeout=START_TIMEOUT)
        yield BotProcess(process, transport)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


@dataclass(frozen=True)
class Sample:
    """One measured stretch of load: how long it took and each command's latency in seconds."""

    elapsed: float
    latencies: list[float]
    bot_cpu: float
    driver_cpu: float

    @property
    def commands(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        """Commands answered per second of wall time."""
        return self.commands / self.elapsed

    def percentile_ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (q in 0..100): a value that was actually observed."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


async def closed_loop(emulator: BotApiEmulator, scripts: Sequence[Script]) -> list[float]:
    """Every user at once, each sending their next text when the reply to the last arrived."""

    async def converse(user: User, texts: Sequence[str]) -> list[float]:
        latencies = []
        for text in texts:
            started = time.perf_counter()
            emulator.send_message(user, user, text)
            await emulator.wait_for_message(user, timeout=REPLY_TIMEOUT)
            latencies.append(time.perf_counter() - started)
        return latencies

    per_user = await asyncio.gather(*(converse(user, texts) for user, texts in scripts))
    return [latency for latencies in per_user for latency in latencies]


async def burst(emulator: BotApiEmulator, scripts: Sequence[Script]) -> list[float]:
    """Every text of every user queued at once, round by round; the k-th reply answers the k-th."""
    injected: dict[int, list[float]] = {user.id: [] for user, _ in scripts}

    async def collect(user: User, count: int) -> list[float]:
        latencies = []
        for index in range(count):
            await emulator.wait_for_message(user, timeout=REPLY_TIMEOUT)
            latencies.append(time.perf_counter() - injected[user.id][index])
        return latencies

    waiters = [asyncio.create_task(collect(user, len(texts))) for user, texts in scripts]
    rounds = max(len(texts) for _, texts in scripts)
    for index in range(rounds):
        for user, texts in scripts:
            if index < len(texts):
                injected[user.id].append(time.perf_counter())
                emulator.send_message(user, user, texts[index])
    per_user = await asyncio.gather(*waiters)
    return [latency for latencies in per_user for latency in latencies]


async def measure(
    emulator: BotApiEmulator, bot: BotProcess, scripts: Sequence[Script], *, mode: str
) -> Sample:
    """Drive `scripts` in `mode` ("closed" or "burst") and time it, CPU of both sides included."""
    driver = closed_loop if mode == "closed" else burst
    bot_cpu, driver_cpu = bot.cpu_seconds(), time.process_time()
    started = time.perf_counter()
    latencies = await driver(emulator, scripts)
    elapsed = time.perf_counter() - started
    return Sample(
        elapsed,
        latencies,
        bot_cpu=bot.cpu_seconds() - bot_cpu,
        driver_cpu=time.process_time() - driver_cpu,
    )


def extra_messages(emulator: BotApiEmulator, scripts: Sequence[Script]) -> int:
    """Bot messages beyond one per text sent: a reply in several parts would skew latencies."""
    return sum(len(emulator.history(user)) - len(texts) for user, texts in scripts)


@dataclass(frozen=True)
class Reply:
    """One message a bot sent: its sendMessage parameters, chat_id left out, and its entities."""

    params: JsonDict
    entities: int


Replies = dict[str, list[Reply]]
"""Each text, and the messages coopbot sent in answer, in order."""


async def record_replies(db: str | Path, texts: Sequence[str], *, first_id: int) -> Replies:
    """What coopbot sends for each text, each sent once by a user of its own, all at once."""
    await prepare_database(db)
    async with BotApiEmulator(TOKEN) as emulator:
        users = {
            text: emulator.user(first_id + number, f"User {number}", language_code="en")
            for number, text in enumerate(texts)
        }
        async with bot_process(emulator, "coopbot", db=db):
            for text, user in users.items():
                emulator.send_message(user, user, text)
            waits = [emulator.wait_for_message(u, timeout=REPLY_TIMEOUT) for u in users.values()]
            await asyncio.gather(*waits)
            await _quiet(emulator)
        sent: dict[int, list[JsonDict]] = {user.id: [] for user in users.values()}
        for call in emulator.calls_to("sendMessage"):
            params = dict(call.params)
            chat_id = params.pop("chat_id")
            if call.error is None and isinstance(chat_id, int) and chat_id in sent:
                sent[chat_id].append(params)
        replies: Replies = {}
        for text, user in users.items():
            history = emulator.history(user)
            if len(history) != len(sent[user.id]):
                raise RuntimeError(f"coopbot answered {text!r} with more than sendMessage")
            replies[text] = [
                Reply(params, len(message.entities))
                for params, message in zip(sent[user.id], history, strict=True)
            ]
    return replies


async def _quiet(emulator: BotApiEmulator) -> None:
    """Return once the bot has sent no message for QUIET seconds."""
    while True:
        before = emulator.stats.calls["sendMessage"]
        await asyncio.sleep(QUIET)
        if emulator.stats.calls["sendMessage"] == before:
            return


def write_replies(path: Path, replies: Replies) -> None:
    """The table as bots.py's mirror reads it: each text, the parameters of each message."""
    table = {text: [reply.params for reply in sent] for text, sent in replies.items()}
    path.write_text(json.dumps(table, ensure_ascii=False))


def wire_differences(
    emulator: BotApiEmulator, scripts: Sequence[Script], replies: Replies
) -> tuple[int, int]:
    """Messages sent in these chats whose parameters no recorded reply has, and messages sent."""
    expected: Counter[str] = Counter()
    for _, texts in scripts:
        for text in texts:
            expected.update(_key(reply.params) for reply in replies[text])
    chats = {user.id for user, _ in scripts}
    actual: Counter[str] = Counter()
    for call in emulator.calls_to("sendMessage"):
        params = dict(call.params)
        if params.pop("chat_id") in chats:
            actual[_key(params)] += 1
    return sum((actual - expected).values()), sum(actual.values())


def _key(params: JsonDict) -> str:
    return json.dumps(params, sort_keys=True)
