"""search.py's figures as it prints them, and its headline ones per database it ran on, for
one table (``--postgresql``)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol

import databases
from harness import percentile

# The kinds of query whose p95 the table gives: the costliest and a typical one.
KINDS = ("common word", "rare word")


class Timing(Protocol):
    """What the table reads of one query's timing."""

    @property
    def kind(self) -> str: ...
    @property
    def reader(self) -> str: ...
    @property
    def seconds(self) -> float: ...
    @property
    def total(self) -> int: ...
    @property
    def respelled(self) -> bool: ...


def line(label: str, seconds: Sequence[float]) -> str:
    ms = [value * 1000 for value in seconds]
    p50, p95, p99 = (percentile(ms, q) for q in (50, 95, 99))
    return (
        f"  {label:<22} n={len(ms):<4} p50 {p50:6.2f}  p95 {p95:6.2f}  p99 {p99:6.2f}"
        f"  max {max(ms):6.2f} ms"
    )


def report(timings: Sequence[Timing], readers: Sequence[str], raw: Sequence[float]) -> None:
    """Percentiles of all queries, by kind, on the tolerant path, by reader; plain sqlite3's."""
    print(line("all queries", [t.seconds for t in timings]))
    by_kind: dict[str, list[Timing]] = defaultdict(list)
    for timing in timings:
        by_kind[timing.kind].append(timing)
    for kind, group in by_kind.items():
        hits = statistics.median(t.total for t in group)
        print(line(kind, [t.seconds for t in group]) + f"  (median {hits:.0f} hits)")
    tolerant = [t.seconds for t in timings if t.respelled or t.total == 0]
    print(line("tolerant path", tolerant) + "  (exact search found nothing)")
    for reader in readers if len(readers) > 1 else ():
        print(line(f"reader {reader}", [t.seconds for t in timings if t.reader == reader]))
    if raw:
        print("the same SQL through plain sqlite3 on this thread, no aiosqlite:")
        print(line("all queries", raw))
    else:
        print("the same SQL through plain sqlite3: SQLite only (FTS5), no figure on PostgreSQL")


def p50_p95(seconds: Sequence[float]) -> str:
    return f"{percentile(seconds, 50) * 1000:.2f} / {percentile(seconds, 95) * 1000:.2f}"


def headline(
    inserted: float,
    translations: float,
    vocabulary: float,
    timings: Sequence[Timing],
    raw: Sequence[float],
) -> list[tuple[str, str]]:
    """The figures worth comparing: loading, the vocabulary, the search's percentiles."""
    figures = [
        ("facts inserted, s", f"{inserted:.1f}"),
        ("translations inserted, s", f"{translations:.1f}"),
        ("tolerant vocabulary read, ms", f"{vocabulary * 1000:.0f}"),
        ("search p50 / p95 ms, all", p50_p95([t.seconds for t in timings])),
    ]
    for kind in sorted({t.kind for t in timings}):
        if kind in KINDS:
            figures.append((f"search p50 / p95 ms, {kind}", p50_p95(_of(timings, kind=kind))))
    for reader in sorted({t.reader for t in timings}):
        figures.append(
            (f"search p50 / p95 ms, reader {reader}", p50_p95(_of(timings, reader=reader)))
        )
    sqlite3 = p50_p95(raw) if raw else "SQLite only"
    figures.append(("plain sqlite3 p50 / p95 ms (FTS5)", sqlite3))
    return figures


def _of(timings: Sequence[Timing], *, kind: str = "", reader: str = "") -> list[float]:
    return [
        t.seconds
        for t in timings
        if (not kind or t.kind == kind) and (not reader or t.reader == reader)
    ]


def merged(runs: Sequence[Sequence[tuple[str, str]]]) -> list[databases.Row]:
    """Each figure's label and its value on each database, in the order the first run gave."""
    return [(label, [dict(run).get(label, "-") for run in runs]) for label, _ in runs[0]]
