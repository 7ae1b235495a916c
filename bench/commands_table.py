"""commands.py's summaries: per mode, and side by side per database (``--postgresql``)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Protocol

import databases
from harness import Sample

TARGET_RATIO = 0.9
CONTENDERS = ("coopbot", "echo", "mirror")


class Outcome(Protocol):
    """What the table reads of one of commands.py's runs."""

    @property
    def contender(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def sample(self) -> Sample: ...
    @property
    def alone(self) -> Sample | None: ...


def summary(mode: str, outcomes: Sequence[Outcome]) -> list[str]:
    """Median and best per contender, and the ratios against the target."""
    lines = []
    figures: dict[str, tuple[float, float]] = {}
    for contender in CONTENDERS:
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
    for other, meaning in (
        ("echo", "the issue's target"),
        ("mirror", "coopbot's own work, PTB sending the same messages"),
    ):
        ratio = figures["coopbot"][0] / figures[other][0]
        best_ratio = figures["coopbot"][1] / figures[other][1]
        verdict = "PASS" if ratio >= TARGET_RATIO else "MISS"
        lines.append(
            f"  {f'coopbot/{other} throughput:':<27} {ratio:.2f} (median), {best_ratio:.2f} "
            f"(best); >= {TARGET_RATIO}: {verdict}  ({meaning})"
        )
    ratio = figures["mirror"][0] / figures["echo"][0]
    best_ratio = figures["mirror"][1] / figures["echo"][1]
    lines.append(
        f"  {'mirror/echo throughput:':<27} {ratio:.2f} (median), {best_ratio:.2f} (best)  "
        "(PTB's cost for coopbot's messages rather than an echo)"
    )
    return lines


def headline(mode: str, outcomes: Sequence[Outcome]) -> list[tuple[str, str]]:
    """coopbot's medians in `mode` and its ratios to the bare bots, for the side-by-side table."""
    mine = [o for o in outcomes if o.mode == mode]

    def rate(contender: str) -> float:
        return statistics.median(o.sample.throughput for o in mine if o.contender == contender)

    coopbot = [o.sample for o in mine if o.contender == "coopbot"]
    figures = [
        (f"{mode}: coopbot cmd/s", f"{rate('coopbot'):.0f}"),
        (
            f"{mode}: coopbot p50 ms",
            f"{statistics.median(s.percentile_ms(50) for s in coopbot):.1f}",
        ),
        (
            f"{mode}: coopbot p99 ms",
            f"{statistics.median(s.percentile_ms(99) for s in coopbot):.1f}",
        ),
        (
            f"{mode}: coopbot CPU ms/cmd",
            f"{statistics.median(s.bot_cpu / s.commands * 1000 for s in coopbot):.2f}",
        ),
        (f"{mode}: coopbot/echo", f"{rate('coopbot') / rate('echo'):.2f}"),
        (f"{mode}: coopbot/mirror", f"{rate('coopbot') / rate('mirror'):.2f}"),
    ]
    alone = [o.alone for o in mine if o.contender == "coopbot" and o.alone is not None]
    if alone:
        p50 = statistics.median(s.percentile_ms(50) for s in alone)
        figures.append((f"{mode}: one user alone p50 ms", f"{p50:.1f}"))
    return figures


def compare(modes: Sequence[str], runs: Sequence[Sequence[Outcome]], names: Sequence[str]) -> str:
    """The headline figures of each database's runs in one table."""
    rows: list[databases.Row] = []
    for mode in modes:
        per_database = [headline(mode, outcomes) for outcomes in runs]
        for index, (label, _) in enumerate(per_database[0]):
            rows.append((label, [figures[index][1] for figures in per_database]))
    return databases.side_by_side("coopbot's database, side by side (medians):", rows, names)
