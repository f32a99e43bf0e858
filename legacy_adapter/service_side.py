"""What sync asks of a feature's service side, as a protocol: the services implement it
(`extracted.<feature>.sync_target`, built on extracted.core.sync_target), so this package never
imports them. The forward applier needs only `Target`; reverse sync, backfill and reconcile need
the rest."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from domain.records.source_spec import Canonical
from legacy_adapter.forward_contract import ApplyCounts, Target
from legacy_adapter.sources import LegacySource


class ServiceSide(Target, Protocol):
    source: LegacySource
    alias: str  # the service's database alias
    model: type[Any]  # the service's model of the feature's records
    outbox: type[Any]  # the service's Outbox model (contract C4)
    record_fields: tuple[str, ...]
    record_type: Callable[..., Any]  # builds the clean record from `record_fields` values

    def ensure_tables(self) -> None: ...

    def restore_owner_state(self, keys: Sequence[int], *, request_id: str) -> None: ...

    def forget_applied(self, change_ids: Sequence[int]) -> None: ...

    def backfill_apply(
        self, *, records: Sequence[Any], versions: Mapping[int, int] | None = None
    ) -> ApplyCounts: ...

    def canonical_rows(
        self, *, lo: int, hi: int, batch: int = 5000
    ) -> Iterator[tuple[int, Canonical]]: ...

    def key_bounds(self) -> tuple[int | None, int | None]: ...
