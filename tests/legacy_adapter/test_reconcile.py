"""Reconcile's checksum-and-bisect core finds exactly the differing rows, and only reads
each side once when they are identical."""

from __future__ import annotations

import random
from collections.abc import Mapping

import pytest

from legacy_adapter.reconcile import Reconciler


def side(rows: Mapping[int, tuple[str, ...]], reads: list[tuple[int, int]]):
    def stream(lo: int, hi: int):
        reads.append((lo, hi))
        return iter(sorted((k, v) for k, v in rows.items() if lo <= k < hi))

    return stream


@pytest.mark.parametrize("seed", range(5))
def test_it_finds_exactly_the_missing_extra_and_different_rows(seed):
    rng = random.Random(seed)
    legacy = {k: (str(k), "B", f"R{k % 7}") for k in rng.sample(range(1, 50_000), 5_000)}
    service = dict(legacy)
    keys = sorted(legacy)
    missing = set(rng.sample(keys, 7))
    different = set(rng.sample([k for k in keys if k not in missing], 9))
    extra = {50_000 + n for n in range(3)}
    for key in missing:
        del service[key]
    for key in different:
        service[key] = (str(key), "C", "CHANGED")
    for key in extra:
        service[key] = (str(key), "B", "")
    reconciler = Reconciler(side(legacy, []), side(service, []), bucket=512, leaf=8)

    drift = reconciler.run(1, 50_010).drift

    assert set(drift.missing) == missing
    assert set(drift.different) == different
    assert set(drift.extra) == extra
    assert drift.rows == len(missing) + len(different) + len(extra)


def test_identical_sides_are_read_once_each_and_report_nothing():
    rows = {k: (str(k), "B") for k in range(1, 10_001)}
    reads_l: list[tuple[int, int]] = []
    reads_s: list[tuple[int, int]] = []

    report = Reconciler(side(rows, reads_l), side(dict(rows), reads_s), bucket=1000).run(1, 10_001)

    assert (report.drift.rows, report.differing_ranges, report.ranges) == (0, 0, 10)
    assert (reads_l, reads_s) == ([(1, 10_001)], [(1, 10_001)])
    assert report.compared == 10_000
