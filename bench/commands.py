"""Commands end to end: coopbot against two bare python-telegram-bot bots, same emulator set-up.

200 users each send 10 commands in their private chats, all at once; each sends the next when
the reply to the last has arrived (closed loop). A burst variant queues all 2000 at once. The
bare bots are an echo, which answers each command with its own text, and a mirror, which answers
it with exactly the messages coopbot sends for it (recorded from coopbot beforehand), so that
PTB's cost of sending coopbot's larger messages shows apart from coopbot's own work. Each
contender runs in its own process against a fresh emulator (and coopbot on a fresh synced
database), with the same connection pool and update concurrency; the runs alternate, so drift
on the machine hits all alike. Throughput and latency percentiles come out per run, then the
median and best of each contender and the ratios coopbot/echo and coopbot/mirror against 0.9.

    .venv/bin/python bench/commands.py            # 3 rounds, closed loop and burst
    .venv/bin/python bench/commands.py --quick    # 1 round, 20 users x 5 commands
    .venv/bin/python bench/commands.py --quick --postgresql postgresql://postgres@HOST/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import commands_table
import databases
from bots import TOKEN
from commands_table import CONTENDERS
from databases import Databases
from harness import (
    Replies,
    Sample,
    Script,
    Transport,
    bot_process,
    extra_messages,
    measure,
    prepare_database,
    record_replies,
    wire_differences,
    write_replies,
)

from bot.emulator import BotApiEmulator, User

WARM_UP_USERS = 20
WARM_UP_COMMANDS = 5
# Users of the warm-up have ids far from the measured ones, so the measured users are all new
# to the bot, as after a post in a channel.
WARM_UP_FIRST_ID = 900_000
# One more user alone before the load: latency with no queue in front of it.
ALONE_ID = 990_000
ALONE_COMMANDS = 50
# The users whose replies the mirror copies, one per distinct text.
RECORDER_FIRST_ID = 980_000

# How often people send each command once they have started the bot; /search with the words
# people would look for, some of which match nothing.
MIX: dict[str, int] = {
    "/help": 6,
    "/about": 8,
    "/delegation": 8,
    "/facilities": 10,
    "/facts": 8,
    "/facts agreement": 3,
    "/events": 10,
    "/next": 12,
    "/search": 25,
}
QUERIES = (
    "dirac",
    "reactor",
    "almaty",
    "neutron",
    "jinr kazakhstan",
    "staff training",
    "accelerator",
    "nica",
    "zakarya",
    "supercomputer",
    "dubna",
    "biomonitoring",
    "tokamak",
)


def scripts(
    users: int,
    commands: int,
    *,
    first_id: int = 1,
    seed: int = 2023,
    mix: dict[str, int] = MIX,
) -> list[Script]:
    """Each user starts the bot, then sends commands drawn from `mix` (the same for every run)."""
    rng = random.Random(seed)
    names, weights = list(mix), list(mix.values())
    result: list[Script] = []
    for number in range(users):
        user = User(first_id + number, f"User {number}", language_code="en")
        texts = ["/start"]
        for name in rng.choices(names, weights, k=commands - 1):
            texts.append(f"{name} {rng.choice(QUERIES)}" if name == "/search" else name)
        result.append((user, texts[:commands]))
    return result


@dataclass(frozen=True)
class Options:
    users: int
    commands: int
    rounds: int
    modes: tuple[str, ...]
    pool: int | None
    concurrent: int | None
    profile: Path | None
    mix: dict[str, int]
    # The bare bots on coopbot's aiohttp request class instead of PTB's default HTTPXRequest.
    bare_aiohttp: bool = False
    # A PostgreSQL server's admin URL: run on SQLite, then on a fresh database there.
    postgresql: str | None = None


@dataclass(frozen=True)
class Workload:
    """What the users of one run send: the warm-up, the one user alone, the measured load."""

    warm_up: list[Script]
    alone: list[Script]
    measured: list[Script]

    @classmethod
    def of(cls, options: Options) -> Workload:
        return cls(
            warm_up=scripts(WARM_UP_USERS, WARM_UP_COMMANDS, first_id=WARM_UP_FIRST_ID, seed=1),
            alone=scripts(1, ALONE_COMMANDS, first_id=ALONE_ID, seed=7, mix=options.mix),
            measured=scripts(options.users, options.commands, mix=options.mix),
        )

    def texts(self) -> list[str]:
        """Every distinct text any user sends."""
        every = (*self.warm_up, *self.alone, *self.measured)
        return sorted({text for _, texts in every for text in texts})


@dataclass(frozen=True)
class Recording:
    """coopbot's replies to every text of the workload, and the file the mirror reads them from."""

    replies: Replies
    path: Path


@dataclass(frozen=True)
class Outcome:
    contender: str
    mode: str
    sample: Sample
    transport: Transport
    extra: int
    alone: Sample | None
    # Mirror only: its messages whose parameters match none of coopbot's, and all it sent.
    differing: int = 0
    sent: int = 0


async def run_one(
    contender: str,
    mode: str,
    options: Options,
    db: str,
    like: Transport | None,
    recording: Recording,
) -> Outcome:
    """One contender, one mode, fresh emulator (and database at `db`); warm-up, then the load.

    `like` is the transport coopbot ran with, for the echo and mirror bots to copy.
    """
    workload = Workload.of(options)
    warm_up, alone_script, measured = workload.warm_up, workload.alone, workload.measured
    pool, concurrent = options.pool, options.concurrent
    if like is not None:
        pool, concurrent = like.pool, like.concurrent
    if contender == "coopbot":
        await prepare_database(db)
    profile = None
    if options.profile is not None:
        profile = options.profile / f"{contender}-{mode}.pstats"
    async with BotApiEmulator(TOKEN) as emulator:
        for user, _ in (*warm_up, *alone_script, *measured):
            emulator.user(user.id, user.first_name, language_code=user.language_code)
        async with bot_process(
            emulator,
            contender,
            db=db if contender == "coopbot" else None,
            replies=recording.path if contender == "mirror" else None,
            pool=pool,
            concurrent=concurrent,
            profile=profile,
            aiohttp=options.bare_aiohttp and contender != "coopbot",
        ) as bot:
            await measure(emulator, bot, warm_up, mode="closed")
            alone = None
            if mode == "closed":
                alone = await measure(emulator, bot, alone_script, mode="closed")
            if profile is not None:
                bot.start_profile()
            sample = await measure(emulator, bot, measured, mode=mode)
            extra = extra_messages(emulator, measured)
        differing, sent = 0, 0
        if contender == "mirror":
            differing, sent = wire_differences(emulator, measured, recording.replies)
    return Outcome(contender, mode, sample, bot.transport, extra, alone, differing, sent)


HEADER = (
    f"{'round':>5} {'contender':<9} {'mode':<6} {'cmds':>5} {'secs':>6} {'cmd/s':>7} "
    f"{'p50 ms':>7} {'p99 ms':>7} {'bot cpu ms/cmd':>14} {'bot cpu':>7} {'emu cpu':>7}"
)


def row(round_number: int, outcome: Outcome) -> str:
    sample = outcome.sample
    line = (
        f"{round_number:>5} {outcome.contender:<9} {outcome.mode:<6} {sample.commands:>5} "
        f"{sample.elapsed:>6.2f} {sample.throughput:>7.0f} {sample.percentile_ms(50):>7.1f} "
        f"{sample.percentile_ms(99):>7.1f} {sample.bot_cpu / sample.commands * 1000:>14.2f} "
        f"{sample.bot_cpu / sample.elapsed:>7.0%} {sample.driver_cpu / sample.elapsed:>7.0%}"
    )
    if outcome.extra:
        line += f"  ({outcome.extra} replies came in more than one message)"
    if outcome.differing:
        line += f"  ({outcome.differing} of {outcome.sent} messages unlike coopbot's on the wire)"
    return line


def describe(recording: Recording, workload: Workload) -> str:
    """How big the mirror's messages are, per measured command, beside the echo's."""
    commands = [text for _, texts in workload.measured for text in texts]
    sent = [reply for text in commands for reply in recording.replies[text]]
    html = statistics.mean(len(str(reply.params["text"])) for reply in sent)
    entities = statistics.mean(reply.entities for reply in sent)
    keyboards = sum("reply_markup" in reply.params for reply in sent) / len(commands)
    echoed = statistics.mean(len(text) for text in commands)
    return (
        f"mirror: coopbot's replies to {len(recording.replies)} distinct texts, recorded; "
        f"per measured command {len(sent) / len(commands):.2f} messages, {html:.0f} characters "
        f"of HTML, {entities:.1f} entities, {keyboards:.0%} with a keyboard "
        f"(echo: {echoed:.0f} characters, no entities)"
    )


async def run_all(options: Options, dbs: Databases) -> list[Outcome]:
    """Every round of every mode on databases from `dbs`, a row printed per run."""
    outcomes: list[Outcome] = []
    workload = Workload.of(options)
    replies = await record_replies(
        dbs.new("recording"), workload.texts(), first_id=RECORDER_FIRST_ID
    )
    recording = Recording(replies, dbs.folder / "replies.json")
    write_replies(recording.path, replies)
    print(describe(recording, workload))
    print(HEADER, flush=True)
    for number in range(1, options.rounds + 1):
        for mode in options.modes:
            db = dbs.new(f"coopbot-{mode}-{number}")
            coopbot = await run_one("coopbot", mode, options, db, None, recording)
            print(row(number, coopbot), flush=True)
            outcomes.append(coopbot)
            for contender in CONTENDERS[1:]:
                outcome = await run_one(contender, mode, options, db, coopbot.transport, recording)
                print(row(number, outcome), flush=True)
                outcomes.append(outcome)
    return outcomes


def report(options: Options, outcomes: Sequence[Outcome]) -> None:
    """The settings all contenders ran with, and each mode's summary."""
    transport = outcomes[0].transport
    print(
        f"\nsettings, all contenders: connection_pool_size={transport.pool}, "
        f"concurrent_updates={transport.concurrent}, getUpdates long poll 1 s, "
        "HTTP/1.1 over loopback; each bot in its own process, emulator and users in this one"
    )
    bare = "coopbot's aiohttp one" if options.bare_aiohttp else "PTB's default HTTPXRequest"
    print(f"requests: coopbot on bot.telegram.transport.AiohttpRequest, echo and mirror on {bare}")
    for mode in options.modes:
        title = "closed loop" if mode == "closed" else "open-loop burst (all queued at once)"
        print(f"{title}:")
        print("\n".join(commands_table.summary(mode, outcomes)))
    if options.profile is not None:
        print(f"profiles (pstats) in {options.profile}")


async def main(options: Options) -> None:
    mix = ", ".join(f"{text} {weight}" for text, weight in options.mix.items())
    print(f"after /start, commands drawn with weights: {mix}; /search with {QUERIES}")
    print(
        f"{options.users} users x {options.commands} commands = "
        f"{options.users * options.commands} commands per run; modes: "
        f"{', '.join(options.modes)}; {options.rounds} round(s), contenders alternating"
    )
    runs: list[list[Outcome]] = []
    names: list[str] = []
    kinds = databases.kinds(options.postgresql)
    for server in kinds:
        with (
            tempfile.TemporaryDirectory(prefix="coopbot-bench-") as tmp,
            databases.databases(Path(tmp), server) as dbs,
        ):
            if len(kinds) > 1:
                print(f"\n== coopbot on {dbs.kind} ==")
            runs.append(await run_all(options, dbs))
            names.append(dbs.kind)
        report(options, runs[-1])
    if len(kinds) > 1:
        print("\n" + commands_table.compare(options.modes, runs, names))


def parse_options() -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 round, 20 users x 5 commands")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--commands", type=int, default=10, help="per user")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-burst", action="store_true", help="closed loop only")
    parser.add_argument("--pool", type=int, help="try another connection pool size (both bots)")
    parser.add_argument("--concurrent", type=int, help="try concurrent_updates=N (both bots)")
    parser.add_argument("--profile", type=Path, help="folder for each bot's cProfile stats")
    parser.add_argument(
        "--bare-aiohttp",
        action="store_true",
        help="echo and mirror on coopbot's aiohttp request class, not PTB's default httpx one",
    )
    parser.add_argument(
        "--only", metavar="TEXT", help="every command after /start is TEXT, e.g. '/help'"
    )
    parser.add_argument("--postgresql", metavar="URL", help=databases.POSTGRESQL_OPTION)
    args = parser.parse_args()
    if args.quick:
        args.users, args.commands, args.rounds = 20, 5, 1
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
    return Options(
        users=args.users,
        commands=args.commands,
        rounds=args.rounds,
        modes=("closed",) if args.no_burst else ("closed", "burst"),
        pool=args.pool,
        concurrent=args.concurrent,
        profile=args.profile.resolve() if args.profile else None,
        mix={args.only: 1} if args.only else MIX,
        bare_aiohttp=args.bare_aiohttp,
        postgresql=args.postgresql,
    )


if __name__ == "__main__":
    asyncio.run(main(parse_options()))
