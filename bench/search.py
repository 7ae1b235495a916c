"""/search over 10,000 generated facts in three languages: SearchIndex.search timed per query,
then end to end.

The facts are seeded random prose over a Zipf-distributed vocabulary of made-up words with real
ones mixed in ("reactor", "DIRAC", "Almaty", "neutron" ...), so some words are in thousands of
facts and some in a handful; each fact's title and text have a Russian and a Kazakh translation
made the same way (search_languages.py). Queries are 1-3 words, common and rare, whole words and
prefixes, Russian and Kazakh words in other forms than the text's, and a few that match nothing,
each asked by a reader of English, Russian or Kazakh in turn. Each is timed as the bot runs it,
through its SearchIndex. The same SQL through plain sqlite3 shows how much of that is SQLite.

    .venv/bin/python bench/search.py                  # 10,000 facts, 300 queries, 60 end to end
    .venv/bin/python bench/search.py --quick          # 2,000 facts, 60 queries, 10 end to end
    .venv/bin/python bench/search.py --english        # no translations, English queries only
    .venv/bin/python bench/search.py --baseline       # the bench of where this branch left
                                                      # main first, in the same sitting
    .venv/bin/python bench/search.py --postgresql URL # on SQLite, then on PostgreSQL
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import databases
import search_languages
from bots import TOKEN, settings_for
from harness import bot_process, closed_loop, percentile
from search_report import headline, line, merged, p50_p95, report
from sqlalchemy.engine import make_url

from bot.emulator import BotApiEmulator, User
from bot.runtime import open_database
from storage import search, search_sqlite, search_words
from storage.models import Fact, Source, Topic, Translation

HERE = Path(__file__).resolve().parent.parent
# Each query is asked by a reader of each language in turn: their hits' titles and snippets are
# in their language.
READERS = ("en", "ru", "kk")

TARGET_P95_MS = 10.0
VOCABULARY = 5000
SEED = 1956
# Real words the bot's users would look for; they land at random ranks, so some are common.
CONTENT_WORDS = (
    *("reactor", "DIRAC", "Almaty", "neutron", "JINR", "Dubna", "Kazakhstan", "Astana"),
    *("accelerator", "cyclotron", "isotope", "detector", "spectrometer", "superheavy", "nuclei"),
    *("beam", "physics", "laboratory", "collaboration", "NICA", "booster", "Baikal", "neutrino"),
    *("telescope", "supercomputer", "Govorun", "radiation", "biology", "medicine", "plasma"),
    *("training", "staff", "agreement", "delegation", "institute", "university", "research"),
    *("experiment", "facility", "magnet", "superconducting", "cloud", "computing", "grid"),
    *("element", "synthesis", "fission", "fusion", "target", "measurement", "dissertation"),
    *("rotation", "plenipotentiaries", "directorate", "biomonitoring", "Zakarya"),
)
CONTENT_QUERIES = (
    "reactor",
    "DIRAC",
    "almaty",
    "Neutron",
    "dirac cloud",
    "neutron reactor",
    "almaty institute",
    "superheavy element synthesis",
    "JINR Kazakhstan",
    "react",
)
# Cyrillic forms of words in the record, found through the tolerant match (transliteration).
CYRILLIC_QUERIES = ("Дубна", "Казахстан", "Алматы", "Астана", "реактор", "нейтрон", "Говорун")


def vocabulary(rng: random.Random) -> list[str]:
    """Made-up words from syllables plus the content words, shuffled: rank 0 is the commonest."""
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    made_up: set[str] = set()
    while len(made_up) < VOCABULARY - len(CONTENT_WORDS):
        syllables = rng.randint(2, 4)
        made_up.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(syllables)))
    words = [*sorted(made_up), *CONTENT_WORDS]
    rng.shuffle(words)
    return words


class Prose:
    """Sentences drawn from a vocabulary with Zipf's law (word k about 1/k as often as word 1)."""

    def __init__(self, words: Sequence[str], rng: random.Random) -> None:
        self.words = words
        self.rng = rng
        self.weights = [1 / (rank + 1) for rank in range(len(words))]

    def phrase(self, count: int) -> list[str]:
        return self.rng.choices(self.words, self.weights, k=count)

    def title(self) -> str:
        words = self.phrase(self.rng.randint(3, 8))
        return " ".join(words)[:1].upper() + " ".join(words)[1:]

    def text(self) -> str:
        sentences = []
        for _ in range(self.rng.randint(2, 6)):
            words = self.phrase(self.rng.randint(6, 18))
            sentence = " ".join(words)
            sentences.append(sentence[:1].upper() + sentence[1:] + self.rng.choice(".!.;."))
        return " ".join(sentences)


Translated = list[tuple[str, str, str, str]]


async def fill(db: str, facts: int, prose: Prose, translated: Translated) -> tuple[float, float]:
    """A migrated database with `facts` generated facts and then their translations, as a sync
    loads items and then translations; returns the seconds each insert took."""
    async with open_database(settings_for(db)) as database, database.sessions.begin() as session:
        source = Source(
            id="bench",
            title="Generated for the search benchmark",
            publisher="bench",
            published=date(2026, 1, 1),
            url="https://example.org/bench",
        )
        session.add_all([source, Topic(id="bench", title="Generated", position=0)])
        await session.flush()
        started = time.perf_counter()
        session.add_all(
            Fact(
                id=f"gen-{number:05d}",
                topic="bench",
                title=prose.title(),
                text=prose.text(),
                source_id="bench",
                position=number,
            )
            for number in range(facts)
        )
        await session.flush()
        inserted = time.perf_counter()
        session.add_all(
            Translation(kind="fact", item_id=item, field=field, language=language, text=text)
            for item, field, language, text in translated
        )
        await session.flush()
        # As `coopbot content sync` does after loading rows: merge the index's segments.
        await search.optimize(session)
        return inserted - started, time.perf_counter() - inserted


def queries(words: Sequence[str], count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(kind, query) pairs in proportions a search box sees, shuffled."""
    common, rare = words[:50], words[len(words) // 2 :]

    def prefix() -> str:
        word = rng.choice(words[:1000])
        return word[: rng.randint(3, max(3, len(word) - 1))]

    def nonsense() -> str:
        return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(6, 10)))

    def misspelt() -> str:
        """A word of the record with one letter changed: the tolerant match's work."""
        word = rng.choice([word for word in words[:2000] if len(word) >= 6])
        at = rng.randrange(1, len(word))
        return word[:at] + rng.choice("aeiouy") + word[at + 1 :]

    def some(count: int) -> Callable[[], str]:
        return lambda: " ".join(rng.choices(words[:2000], k=count))

    makers: dict[str, tuple[float, Callable[[], str]]] = {
        "common word": (0.2, lambda: rng.choice(common)),
        "rare word": (0.2, lambda: rng.choice(rare)),
        "prefix": (0.15, prefix),
        "two words": (0.2, some(2)),
        "three words": (0.1, some(3)),
        "content words": (0.1, lambda: rng.choice(CONTENT_QUERIES)),
        "misspelt word": (0.05, misspelt),
        "cyrillic word": (0.05, lambda: rng.choice(CYRILLIC_QUERIES)),
        "no match": (0.05, nonsense),
    }
    pairs = [
        (kind, make())
        for kind, (share, make) in makers.items()
        for _ in range(round(share * count))
    ]
    rng.shuffle(pairs)
    return pairs


@dataclass(frozen=True)
class Timing:
    kind: str
    query: str
    reader: str
    seconds: float
    total: int
    # Found through close spellings (storage.spelling), after the exact search found nothing.
    respelled: bool = False


async def time_search(
    db: str, pairs: Sequence[tuple[str, str]], readers: Sequence[str]
) -> list[Timing]:
    """Each query through the bot's SearchIndex, as the handler runs it, after a warm-up."""
    timings = []
    index = await search.SearchIndex.open(settings_for(db).storage_url)
    try:
        for _, query in pairs[:20]:
            await index.search(query, limit=5)
        for number, (kind, query) in enumerate(pairs):
            reader = readers[number % len(readers)]
            started = time.perf_counter()
            results = await index.search(query, limit=5, language=reader)
            elapsed = time.perf_counter() - started
            timings.append(Timing(kind, query, reader, elapsed, results.total, results.respelled))
    finally:
        await index.close()
    return timings


async def time_vocabulary(db: str) -> tuple[float, int]:
    """The first tolerant search on a fresh connection reads the index's terms: that cost."""
    index = await search.SearchIndex.open(settings_for(db).storage_url)
    try:
        started = time.perf_counter()
        await index.search("qqqqqqqq", limit=5)  # nothing matches: the tolerant path runs
        elapsed = time.perf_counter() - started
        return elapsed, len(await index.index.terms())
    finally:
        await index.close()


def time_sqlite(db: str, pairs: Sequence[tuple[str, str]], readers: Sequence[str]) -> list[float]:
    """The same statements through plain sqlite3 on this thread: SQLite's own share of the time.
    FTS5's SQL, so SQLite only: PostgreSQL's side has no such figure."""
    seconds = []
    with sqlite3.connect(str(make_url(db).database)) as connection:
        for number, (_, query) in enumerate(pairs):
            # The statements are search's own; reading them keeps this from drifting from the
            # bot's SQL.
            page_sql = search_sqlite.QUERIES[readers[number % len(readers)]]
            terms = search_words.match_terms(search_words.words(query))
            started = time.perf_counter()
            for operator in ("AND", "OR") if len(terms) > 1 else ("AND",):
                match = search_sqlite.match_expression(terms, operator=operator)
                params = {"match": match, "limit": 5, "offset": 0}
                if connection.execute(page_sql, params).fetchall():
                    break
            seconds.append(time.perf_counter() - started)
    return seconds


async def end_to_end(db: str, pairs: Sequence[tuple[str, str]]) -> dict[str, list[float]]:
    """/search through the emulator and the real bot, one user at a time, /help for comparison."""
    user = User(7, "Searcher", language_code="en")
    async with BotApiEmulator(TOKEN) as emulator:
        emulator.user(user.id, user.first_name)
        async with bot_process(emulator, "coopbot", db=db):
            await closed_loop(emulator, [(user, ["/start", *["/help"] * 5])])
            searches = [f"/search {query}" for _, query in pairs]
            return {
                "/search": await closed_loop(emulator, [(user, searches)]),
                "/help": await closed_loop(emulator, [(user, ["/help"] * len(pairs))]),
            }


async def measure(
    db: str,
    facts: int,
    words: list[str],
    rng: random.Random,
    work: tuple[list[tuple[str, str]], Translated, Sequence[str]],
    e2e: int,
) -> list[tuple[str, str]]:
    """The whole measurement on the fresh database `db`, printed; its headline figures."""
    pairs, translated, readers = work
    sqlite = make_url(db).get_backend_name() == "sqlite"
    connection = "aiosqlite" if sqlite else "asyncpg"
    inserted, translations = await fill(db, facts, Prose(words, rng), translated)
    print(
        f"{facts} facts over {len(words)} words (Zipf), inserted in {inserted:.1f} s "
        f"with the FTS triggers; {len(translated)} translations (ru, kk) in "
        f"{translations:.1f} s; {len(pairs)} queries, readers {', '.join(readers)} in turn"
    )
    vocabulary_seconds, terms = await time_vocabulary(db)
    print(
        f"the tolerant match's vocabulary: {terms} terms read and indexed in "
        f"{vocabulary_seconds * 1000:.1f} ms (once after each change to the database)"
    )
    timings = await time_search(db, pairs, readers)
    raw = time_sqlite(db, pairs, readers) if sqlite else []
    print(f"SearchIndex.search(q, limit=5), the bot's read-only {connection} connection:")
    report(timings, readers, raw)
    p95 = percentile([t.seconds for t in timings], 95) * 1000
    verdict = "PASS" if p95 <= TARGET_P95_MS else "MISS"
    print(f"search p95 {p95:.2f} ms, target <= {TARGET_P95_MS:.0f} ms: {verdict}")
    figures: list[tuple[str, str]] = headline(
        inserted, translations, vocabulary_seconds, timings, raw
    )
    if e2e:
        sample = pairs[:e2e]
        print(f"end to end through the emulator, one user, {len(sample)} commands each:")
        for label, seconds in (await end_to_end(db, sample)).items():
            print(line(label, seconds))
            figures.append((f"end to end {label} p50 / p95 ms", p50_p95(seconds)))
    return figures


async def main(
    facts: int, count: int, e2e: int, *, english: bool, postgresql: str | None = None
) -> None:
    rng = random.Random(SEED)
    words = vocabulary(rng)
    pairs = queries(words, count, rng)
    readers = ("en",) if english else READERS
    translated: Translated = []
    if not english:
        # A generator of their own, so that the English facts and queries are those of a run
        # with --english (and of the bench before translations).
        other = random.Random(SEED + 1)
        russian, kazakh = search_languages.languages(other)
        translated = list(search_languages.translations((russian, kazakh), facts, other))
        pairs += search_languages.queries(russian, kazakh, count, other)
        other.shuffle(pairs)
    prose = rng.getstate()
    kinds = databases.kinds(postgresql)
    runs: list[list[tuple[str, str]]] = []
    names: list[str] = []
    for server in kinds:
        with (
            tempfile.TemporaryDirectory(prefix="coopbot-search-") as tmp,
            databases.databases(Path(tmp), server) as dbs,
        ):
            if len(kinds) > 1:
                print(f"\n== search on {dbs.kind} ==")
            # The same facts on each: the prose generator from where the queries left it.
            rng.setstate(prose)
            work = (pairs, translated, readers)
            runs.append(await measure(dbs.new("search"), facts, words, rng, work, e2e))
            names.append(dbs.kind)
    if len(kinds) > 1:
        print("\n" + databases.side_by_side("search, side by side:", merged(runs), names))


def baseline(ref: str | None, args: argparse.Namespace) -> None:
    """The bench of `ref` (git archive; by default where this branch left main), run on that
    code with these sizes, its output as is. The code runs on this checkout's environment, so
    a ref that needs packages this one lacks fails: the default is the branch's own start."""
    git = ["git", "-C", str(HERE)]
    if ref is None:
        found = subprocess.run(
            [*git, "merge-base", "HEAD", "main"], check=True, capture_output=True, text=True
        )
        ref = found.stdout.strip()[:12]
    with tempfile.TemporaryDirectory(prefix="coopbot-search-baseline-") as folder:
        archive = subprocess.run([*git, "archive", ref], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
        sizes = ["--facts", str(args.facts), "--queries", str(args.queries), "--e2e", "0"]
        print(f"{ref} (before), its own bench/search.py {' '.join(sizes)}:", flush=True)
        if args.postgresql:
            sizes += ["--postgresql", args.postgresql]
        environment = {**os.environ, "PYTHONPATH": folder}
        script = Path(folder) / "bench" / "search.py"
        subprocess.run([sys.executable, str(script), *sizes], check=True, env=environment)
        print("\nthis checkout:", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 facts, 60 queries")
    parser.add_argument("--facts", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--e2e", type=int, default=60, help="queries end to end (0: none)")
    parser.add_argument("--english", action="store_true", help="no translations, as before")
    parser.add_argument(
        "--baseline",
        nargs="?",
        const="",
        metavar="REF",
        help="run REF's bench/search.py first (no REF: where this branch left main)",
    )
    parser.add_argument("--postgresql", metavar="URL", help=databases.POSTGRESQL_OPTION)
    args = parser.parse_args()
    if args.quick:
        args.facts, args.queries, args.e2e = 2_000, 60, 10
    if args.baseline is not None:
        baseline(args.baseline or None, args)
    asyncio.run(
        main(args.facts, args.queries, args.e2e, english=args.english, postgresql=args.postgresql)
    )
