"""What forward apply needs of a service target, and what one batch of it reports.

The contract between legacy_adapter.forward_apply and its targets (extracted.<feature>.sync_target
implements it with Django), with the worker's key shard and the clock both sides stamp with:
kept apart so the applier's module is only the algorithm.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.ownership import FeatureOwnership
from legacy_adapter import apply_loop


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True, slots=True)
class Shard:
    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`K/N`, 0 <= K < N."""
        try:
            k, n = (int(part) for part in text.split("/"))
        except ValueError as e:
            raise ValueError(f"--shard {text!r} is not K/N (for example 0/4)") from e
        if n < 1 or not 0 <= k < n:
            raise ValueError(f"--shard {text!r}: need 0 <= K < N")
        return cls(k, n)


class ApplyCounts(Protocol):
    @property
    def applied(self) -> int: ...

    @property
    def unchanged(self) -> int: ...

    @property
    def skipped_older(self) -> int: ...


class TargetCounts(ApplyCounts, Protocol):
    """What a target apply did, key by key, for the conflict log."""

    @property
    def applied_keys(self) -> frozenset[int]: ...

    @property
    def older_keys(self) -> frozenset[int]: ...

    @property
    def kept_keys(self) -> frozenset[int]: ...

    @property
    def stored_versions(self) -> Mapping[int, int] | None: ...


class Target(Protocol):
    """The service side of one feature (extracted.core.sync_target implements it with Django)."""

    def applied_ids(self, change_ids: Sequence[int]) -> set[int]: ...

    def apply(
        self,
        *,
        records: Sequence[Any],
        deleted: Sequence[int],
        change_ids: Sequence[int],
        versions: Mapping[int, int] | None = None,
        forced: frozenset[int] = frozenset(),
        restore: Sequence[int] = (),
        resolution_us: int = 1,
        service_wins_ties: frozenset[int] = frozenset(),
    ) -> TargetCounts:
        """One service transaction: upsert, delete, record the change ids, queue restores."""
        ...

    def is_row_error(self, error: Exception) -> bool:
        """True when `error` is about the rows given (refused data), not about the service
        (down, misconfigured): only row errors may become dead letters."""
        ...

    def ownership(self) -> FeatureOwnership: ...

    def unwritten_keys(self, keys: Sequence[int]) -> set[int]: ...

    def existing_keys(self, keys: Sequence[int]) -> set[int]: ...

    def unique_holders(self, records: Sequence[Any]) -> set[int]: ...


_COUNTERS = (
    "claimed",
    "echoes",
    "replayed",
    "keys",
    "applied",
    "unchanged",
    "skipped_older",
    "deleted",
    "dead_lettered",
    "conflicts",
    "refused",
)


@dataclass(slots=True)
class BatchReport:
    claimed: int = 0
    echoes: int = 0
    replayed: int = 0  # already applied by a worker that died before marking them done
    keys: int = 0
    applied: int = 0
    unchanged: int = 0
    skipped_older: int = 0
    deleted: int = 0
    dead_lettered: int = 0
    conflicts: int = 0  # writes that lost to a newer one on the other side (logged)
    refused: int = 0  # non-owner writes refused by the plan's `owner_wins` (logged)
    max_lag_s: float = 0.0
    lags_s: list[float] = field(default_factory=list)
    changed_keys: set[int] = field(default_factory=set)  # written or deleted on the service

    def add(self, other: BatchReport) -> None:
        apply_loop.add_counts(self, other, _COUNTERS)
        self.max_lag_s = max(self.max_lag_s, other.max_lag_s)
        self.lags_s.extend(other.lags_s)
        self.changed_keys |= other.changed_keys

    def summary(self) -> str:
        return (
            f"forward: claimed {self.claimed}, applied {self.applied}, unchanged "
            f"{self.unchanged}, skipped as older {self.skipped_older}, deleted {self.deleted}, "
            f"echoes {self.echoes}, replayed {self.replayed}, dead letters "
            f"{self.dead_lettered}, conflicts {self.conflicts}, refused {self.refused}"
        )
