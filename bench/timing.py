"""Side-by-side timing: every figure is a ratio to a baseline measured in the same round."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

Operation = Callable[[], object]
Contender = Callable[[int], Operation]
"""Given the number of calls about to be timed, return the operation (set-up is untimed)."""


@dataclass(frozen=True)
class Figure:
    """One contender's result: median time per operation and its ratio to the baseline."""

    name: str
    median_us: float
    ratio_median: float
    ratio_min: float
    ratio_max: float

    def row(self) -> str:
        return (
            f"| {self.name} | {self.median_us:.2f} | {self.ratio_median:.2f}x | "
            f"{self.ratio_min:.2f}x | {self.ratio_max:.2f}x |"
        )


HEADER = "| contender | median µs/op | ratio (median) | min | max |\n|---|---|---|---|---|"


def per_op(operation: Operation, number: int) -> float:
    """Seconds per call of ``operation`` over ``number`` calls (GC paused while timing)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            operation()
        return (time.perf_counter() - start) / number
    finally:
        if enabled:
            gc.enable()


def compare(
    contenders: dict[str, Contender], baseline: str, *, rounds: int, number: int
) -> list[Figure]:
    """Time every contender ``rounds`` times, interleaved, and return ratios to ``baseline``.

    The order rotates each round so that no contender always runs on a warm or cold cache.
    """
    names = list(contenders)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        order = names[round_index % len(names) :] + names[: round_index % len(names)]
        for name in order:
            operation = contenders[name](number)
            samples[name].append(per_op(operation, number))
    return figures_of(samples, baseline)


def figures_of(samples: dict[str, list[float]], baseline: str) -> list[Figure]:
    """One :class:`Figure` per contender of ``samples`` (seconds per operation, one per
    round, rounds interleaved), its ratios taken round by round against ``baseline``."""
    figures = []
    for name, times in samples.items():
        ratios = [s / b for s, b in zip(times, samples[baseline], strict=True)]
        figures.append(
            Figure(
                name,
                statistics.median(times) * 1e6,
                statistics.median(ratios),
                min(ratios),
                max(ratios),
            )
        )
    return figures


def repeated(operation: Operation) -> Contender:
    """A contender that runs the same operation every time."""
    return lambda number: operation


def table(title: str, figures: list[Figure]) -> str:
    """A Markdown table of ``figures``."""
    return "\n".join([f"### {title}", "", HEADER, *(figure.row() for figure in figures), ""])
