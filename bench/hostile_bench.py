"""Benchmark (h): hostile documents. The three crafted documents of issue 8 §5 (130k
``<Pause/>`` siblings, 115k distinct element names, 104k attributes on one element), each at
n, 2n and 4n elements, 4n filling the 1 MiB input limit: ``validate`` and ``lint`` of each
size side by side, as a ratio to size n. Linear work doubles with the size: 2.0x and 4.0x.
"""

from __future__ import annotations

from collections.abc import Callable

import callflow as cf
from callflow.dialect.reader import MAX_BYTES

from .timing import Contender, Figure, compare, repeated

Make = Callable[[int], bytes]


def pauses(n: int) -> bytes:
    return b"<Response>" + b"<Pause/>" * n + b"</Response>"


def distinct_names(n: int) -> bytes:
    return b"<Response>" + b"".join(b"<A%d/>" % i for i in range(n)) + b"</Response>"


def attributes(n: int) -> bytes:
    names = b" ".join(b'a%x=""' % i for i in range(n))
    return b"<Response><Pause " + names + b"/></Response>"


DOCUMENTS: dict[str, tuple[Make, str]] = {
    "pauses": (pauses, "siblings"),
    "distinct names": (distinct_names, "names"),
    "attributes": (attributes, "attributes"),
}
"""Each hostile document by name, and what its size counts."""


def largest(make: Make, limit: int) -> int:
    """The largest n whose document fits in ``limit`` bytes."""
    low, high = 1, 2
    while len(make(high)) <= limit:
        low, high = high, high * 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if len(make(middle)) <= limit else (low, middle)
    return low


def sizes_of(n: int) -> tuple[tuple[str, int], ...]:
    """n, 2n and 4n, by label."""
    return (("n", n), ("2n", 2 * n), ("4n", 4 * n))


def checking(check: Callable[[bytes], object], data: bytes) -> Contender:
    """A contender that runs ``check`` on ``data``."""
    return repeated(lambda: check(data))


def run(*, rounds: int, limit: int = MAX_BYTES) -> dict[str, list[Figure]]:
    """For each document and check (``validate``, ``lint``): sizes n, 2n and 4n, as a ratio
    to n, with 4n the largest that fits in ``limit`` bytes."""
    results: dict[str, list[Figure]] = {}
    for name, (make, unit) in DOCUMENTS.items():
        n = largest(make, limit) // 4
        sizes = {f"{label} ({count} {unit})": make(count) for label, count in sizes_of(n)}
        checks: dict[str, Callable[[bytes], object]] = {"validate": cf.validate, "lint": cf.lint}
        for check_name, check in checks.items():
            contenders = {label: checking(check, data) for label, data in sizes.items()}
            baseline = next(iter(contenders))
            results[f"{name}: {check_name}"] = compare(
                contenders, baseline, rounds=rounds, number=1
            )
    return results
