"""Commands end to end: coopbot against a bare python-telegram-bot echo bot, same emulator set-up.

200 users each send 10 commands in their private chats, all at once; each sends the next when
the reply to the last has arrived (closed loop). A burst variant queues all 2000 at once. Each
contender runs in its own process against a fresh emulator (and coopbot on a fresh synced
database), with the same connection pool and update concurrency; the runs alternate, so drift
on the machine hits both alike. Throughput and latency percentiles come out per run, then the
median and best of each contender and the ratio coopbot/echo against the 0.9 target.

    .venv/bin/python bench/commands.py            # 3 rounds, closed loop and burst
    .venv/bin/python bench/commands.py --quick    # 1 round, 20 users x 5 commands
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

from bots import TOKEN
from harness import (
    Sample,
    Script,
    Transport,
    bot_process,
    extra_messages,
    measure,
    prepare_database,
)

from bot.emulator import BotApiEmulator, User

TARGET_RATIO = 0.9
WARM_UP_USERS = 20
WARM_UP_COMMANDS = 5
# Users of the warm-up have ids far from the measured ones, so the measured users are all new
# to the bot, as after a post in a channel.
WARM_UP_FIRST_ID = 900_000
# One more user alone before the load: latency with no queue in front of it.
ALONE_ID = 990_000
ALONE_COMMANDS = 50

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


@dataclass(frozen=True)
class Outcome:
    contender: str
    mode: str
    sample: Sample
    transport: Transport
    extra: int
    alone: Sample | None


async def run_one(
    contender: str, mode: str, options: Options, db: Path, like: Transport | None
) -> Outcome:
    """One contender, one mode, fresh emulator (and database at `db`); warm-up, then the load.

    `like` is the transport coopbot ran with, for the echo bot to copy.
    """
    measured = scripts(options.users, options.commands, mix=options.mix)
    warm_up = scripts(WARM_UP_USERS, WARM_UP_COMMANDS, first_id=WARM_UP_FIRST_ID, seed=1)
    alone_script = scripts(1, ALONE_COMMANDS, first_id=ALONE_ID, seed=7, mix=options.mix)
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
            pool=pool,
            concurrent=concurrent,
            profile=profile,
        ) as bot:
            await measure(emulator, bot, warm_up, mode="closed")
            alone = None
            if mode == "closed":
                alone = await measure(emulator, bot, alone_script, mode="closed")
            if profile is not None:
                bot.start_profile()
            sample = await measure(emulator, bot, measured, mode=mode)
            extra = extra_messages(emulator, measured)
    return Outcome(contender, mode, sample, bot.transport, extra, alone)


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
    return line


def summary(mode: str, outcomes: Sequence[Outcome]) -> list[str]:
    """Median and best per contender, and the ratio against the target."""
    lines = []
    figures: dict[str, tuple[float, float]] = {}
    for contender in ("coopbot", "echo"):
        samples = [o.sample for o in outcomes if o.contender == contender and o.mode == mode]
        rates = [s.throughput for s in samples]
        median, best = statistics.median(rates), max(rates)
        figures[contender] = (median, best)
        p50 = statistics.median(s.percentile_ms(50) for s in samples)
        p99 = statistics.median(s.percentile_ms(99) for s in samples)
        lines.append(
            f"  {contender:<8} median {median:6.0f} cmd/s  best {best:6.0f} cmd/s  "
            f"p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  (medians over {len(samples)} runs)"
        )
        alone = [o.alone for o in outcomes if o.contender == contender and o.alone is not None]
        if alone and mode == "closed":
            p50 = statistics.median(s.percentile_ms(50) for s in alone)
            p99 = statistics.median(s.percentile_ms(99) for s in alone)
            lines.append(
                f"  {'':<8} one user alone, no queue ({alone[0].commands} commands): "
                f"p50 {p50:5.1f} ms  p99 {p99:5.1f} ms"
            )
    ratio = figures["coopbot"][0] / figures["echo"][0]
    best_ratio = figures["coopbot"][1] / figures["echo"][1]
    verdict = "PASS" if ratio >= TARGET_RATIO else "MISS"
    lines.append(
        f"  coopbot/echo throughput: {ratio:.2f} (median), {best_ratio:.2f} (best); "
        f"target >= {TARGET_RATIO}: {verdict}"
    )
    return lines


async def main(options: Options) -> None:
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="coopbot-bench-") as tmp:
        folder = Path(tmp)
        mix = ", ".join(f"{text} {weight}" for text, weight in options.mix.items())
        print(f"after /start, commands drawn with weights: {mix}; /search with {QUERIES}")
        print(
            f"{options.users} users x {options.commands} commands = "
            f"{options.users * options.commands} commands per run; modes: "
            f"{', '.join(options.modes)}; {options.rounds} round(s), contenders alternating"
        )
        print(HEADER, flush=True)
        for number in range(1, options.rounds + 1):
            for mode in options.modes:
                db = folder / f"coopbot-{mode}-{number}.db"
                coopbot = await run_one("coopbot", mode, options, db, None)
                print(row(number, coopbot), flush=True)
                echo = await run_one("echo", mode, options, db, coopbot.transport)
                print(row(number, echo), flush=True)
                outcomes += [coopbot, echo]
    transport = outcomes[0].transport
    print(
        f"\nsettings, both contenders: connection_pool_size={transport.pool}, "
        f"concurrent_updates={transport.concurrent}, getUpdates long poll 1 s, "
        "HTTP/1.1 over loopback; each bot in its own process, emulator and users in this one"
    )
    for mode in options.modes:
        title = "closed loop" if mode == "closed" else "open-loop burst (all queued at once)"
        print(f"{title}:")
        print("\n".join(summary(mode, outcomes)))
    if options.profile is not None:
        print(f"profiles (pstats) in {options.profile}")


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
        "--only", metavar="TEXT", help="every command after /start is TEXT, e.g. '/help'"
    )
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
    )


if __name__ == "__main__":
    asyncio.run(main(parse_options()))
