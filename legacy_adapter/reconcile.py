"""Reconcile: compare both sides by checksums over key ranges, bisecting to the differing rows.

Both sides are read in the same canonical form (the legacy values as text, see sources.py),
streamed in key order, a few thousand rows at a time: memory is bounded by one read batch and
one 16-byte digest per key range, whatever the table size.

1. One pass over each side hashes every row into its key range (`bucket` keys wide).
2. Ranges whose digests (or row counts) differ are split in halves, each half hashed again
   on both sides, recursing into the halves that differ, down to `leaf` keys.
3. In a leaf range the rows themselves are compared: a key only in legacy is *missing* in the
   service, one only in the service is *extra*, one on both sides with other values *differs*.

With identical sides the work is exactly one streaming pass per side; a differing range is
read once more per side and halved in memory (log2(bucket / leaf) levels). Repairing is the
applier's job: the caller queues the differing keys as changes (state-based: the current
legacy row wins, or the key is deleted in the service when legacy has none).
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from domain.records.source_spec import Canonical

RowStream = Callable[[int, int], Iterator[tuple[int, Canonical]]]  # rows with lo <= key < hi
DEFAULT_BUCKET = 4096
DEFAULT_LEAF = 32
MAX_LISTED = 1000  # drift keys kept for repair and the report; all are counted


@dataclass(slots=True)
class Drift:
    missing: list[int] = field(default_factory=list)  # in legacy, not in the service
    extra: list[int] = field(default_factory=list)  # in the service, not in legacy
    different: list[int] = field(default_factory=list)
    missing_count: int = 0
    extra_count: int = 0
    different_count: int = 0

    @property
    def rows(self) -> int:
        return self.missing_count + self.extra_count + self.different_count

    def keys(self) -> list[int]:
        return sorted({*self.missing, *self.extra, *self.different})

    def as_dict(self) -> dict[str, int]:
        return {
            "missing": self.missing_count,
            "extra": self.extra_count,
            "different": self.different_count,
        }


@dataclass(slots=True)
class ReconcileReport:
    compared: int = 0  # rows read on the legacy side in the first pass
    ranges: int = 0
    differing_ranges: int = 0
    drift: Drift = field(default_factory=Drift)


_SEP = "\x1f"


def _row_bytes(key: int, values: Canonical) -> bytes:
    return (str(key) + _SEP + _SEP.join(values) + "\x1e").encode()


def _digests(
    rows: Iterable[tuple[int, Canonical]], lo: int, width: int
) -> tuple[dict[int, bytes], int]:
    """{range index: digest+count} over one side, and the number of rows read."""
    hashers: dict[int, hashlib.blake2b] = {}
    counts: dict[int, int] = {}
    total = 0
    for key, values in rows:
        index = (key - lo) // width
        hasher = hashers.get(index)
        if hasher is None:
            hasher = hashers[index] = hashlib.blake2b(digest_size=16)
            counts[index] = 0
        hasher.update(_row_bytes(key, values))
        counts[index] += 1
        total += 1
    return {i: h.digest() + counts[i].to_bytes(8, "big") for i, h in hashers.items()}, total


class Reconciler:
    def __init__(
        self,
        legacy: RowStream,
        service: RowStream,
        *,
        bucket: int = DEFAULT_BUCKET,
        leaf: int = DEFAULT_LEAF,
    ) -> None:
        self._legacy = legacy
        self._service = service
        self._bucket = max(bucket, 1)
        self._leaf = max(leaf, 1)

    def run(self, lo: int, hi: int) -> ReconcileReport:
        """Compare keys lo <= key < hi."""
        report = ReconcileReport()
        if hi <= lo:
            return report
        left, report.compared = _digests(self._legacy(lo, hi), lo, self._bucket)
        right, _ = _digests(self._service(lo, hi), lo, self._bucket)
        report.ranges = len(left.keys() | right.keys())
        for index in sorted(left.keys() | right.keys()):
            if left.get(index) != right.get(index):
                report.differing_ranges += 1
                start = lo + index * self._bucket
                self._bisect(start, min(start + self._bucket, hi), report.drift)
        return report

    def _bisect(self, lo: int, hi: int, drift: Drift) -> None:
        """Halve [lo, hi) while the halves' digests differ, down to `leaf` keys.

        The range is read once per side (it is one first-level bucket: bounded memory), and
        the halving runs over those rows, so a difference costs two reads, not one per level.
        """
        legacy = list(self._legacy(lo, hi))
        service = list(self._service(lo, hi))
        self._halve(legacy, service, lo, hi, drift)

    def _halve(
        self,
        legacy: list[tuple[int, Canonical]],
        service: list[tuple[int, Canonical]],
        lo: int,
        hi: int,
        drift: Drift,
    ) -> None:
        if hi - lo <= self._leaf:
            self._compare_rows(dict(legacy), dict(service), drift)
            return
        mid = lo + (hi - lo) // 2
        cut_l = bisect_left(legacy, mid, key=lambda row: row[0])
        cut_s = bisect_left(service, mid, key=lambda row: row[0])
        halves = (
            (legacy[:cut_l], service[:cut_s], lo, mid),
            (legacy[cut_l:], service[cut_s:], mid, hi),
        )
        for left, right, start, end in halves:
            if _digest(left) != _digest(right):
                self._halve(left, right, start, end, drift)

    @staticmethod
    def _compare_rows(
        legacy: dict[int, Canonical], service: dict[int, Canonical], drift: Drift
    ) -> None:
        for key in sorted(legacy.keys() | service.keys()):
            if key not in service:
                drift.missing_count += 1
                _keep(drift.missing, key)
            elif key not in legacy:
                drift.extra_count += 1
                _keep(drift.extra, key)
            elif legacy[key] != service[key]:
                drift.different_count += 1
                _keep(drift.different, key)


def _digest(rows: list[tuple[int, Canonical]]) -> bytes:
    hasher = hashlib.blake2b(digest_size=16)
    for key, values in rows:
        hasher.update(_row_bytes(key, values))
    return hasher.digest() + len(rows).to_bytes(8, "big")


def _keep(keys: list[int], key: int) -> None:
    if len(keys) < MAX_LISTED:
        keys.append(key)
