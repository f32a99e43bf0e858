"""Latency histograms with fixed bucket bounds, and a p99 read back from bucket counts.

Proxy workers count each request's latency into buckets (`bucket_index`), the counts are
summed across workers and windows by plain addition, and the control plane's gates estimate a
percentile from the sums (`percentile_ms`). Fixed bounds are what make the addition valid: every
worker and every window uses exactly `BOUNDS_MS`, so a stored list of counts needs no schema.

`BOUNDS_MS[i]` is the upper bound (inclusive) of bucket i; one extra last bucket counts
everything slower than the last bound, so a list of counts has `len(BOUNDS_MS) + 1` entries.
The bounds grow roughly x1.5-2 per step, which keeps the estimate within one bucket's width of
the truth (what a p99 *ratio* gate needs) with 20 integers per route and window.

A percentile is estimated by linear interpolation inside the bucket that holds it (the
overflow bucket reports its lower bound: there is no upper one). Pure: standard library only.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Final

BOUNDS_MS: Final[tuple[float, ...]] = (
    1.0,
    2.0,
    3.0,
    5.0,
    7.5,
    10.0,
    15.0,
    25.0,
    40.0,
    60.0,
    100.0,
    150.0,
    250.0,
    400.0,
    600.0,
    1000.0,
    2000.0,
    5000.0,
    10000.0,
)
BUCKET_COUNT: Final = len(BOUNDS_MS) + 1


def bucket_index(latency_ms: float) -> int:
    """The bucket a latency falls in: the first whose bound is >= it, else the overflow."""
    return bisect_left(BOUNDS_MS, latency_ms)


def empty_buckets() -> list[int]:
    return [0] * BUCKET_COUNT


def add_buckets(total: list[int], counts: Sequence[int]) -> None:
    """Add counts into total in place; raises ValueError if the lengths disagree."""
    if len(counts) != len(total):
        raise ValueError(f"expected {len(total)} latency buckets, got {len(counts)}")
    for i, count in enumerate(counts):
        total[i] += count


def percentile_ms(counts: Sequence[int], quantile: float = 0.99) -> float | None:
    """The estimated latency at `quantile` (0 < q <= 1), or None when nothing was counted."""
    if not 0 < quantile <= 1:
        raise ValueError(f"quantile must be in (0, 1], not {quantile}")
    if len(counts) != BUCKET_COUNT:
        raise ValueError(f"expected {BUCKET_COUNT} latency buckets, got {len(counts)}")
    total = sum(counts)
    if total <= 0:
        return None
    rank = quantile * total  # the rank-th smallest sample, 1-based and possibly fractional
    seen = 0
    for i, count in enumerate(counts):
        if count <= 0:
            continue
        if seen + count >= rank:
            low = BOUNDS_MS[i - 1] if i > 0 else 0.0
            if i == len(BOUNDS_MS):
                return low
            high = BOUNDS_MS[i]
            return low + (high - low) * (rank - seen) / count
        seen += count
    return BOUNDS_MS[-1]  # unreachable with a positive total; keeps the type checker happy


def p99_ms(counts: Sequence[int]) -> float | None:
    return percentile_ms(counts, 0.99)
