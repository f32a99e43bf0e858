"""The service side of sync, in Django: one `ServiceTarget` per feature, made by the feature's
own `extracted.<feature>.sync_target` (legacy_adapter.features finds it by that name).

It wraps the service's own sink (each feature's `apply_legacy_<records>`, with
their version guards) in an outer transaction on the service's alias that also deletes the
rows whose legacy row is gone (through the service's delete sink, `delete_legacy_*`) and
records the applied change ids (`ficus_applied_change`), so "applied" and "recorded as applied"
commit together or not at all. Deletes are state-based too (the legacy row is gone, so the copy
goes).

Versions (microseconds, docs/sync.md) come in with the records; keys in `forced` take the
owner's state whatever the versions say (a repair, or a refused service write undone). A
delete loses to a newer service write of the same record, like any other older write.

It also reads the service rows back in the legacy canonical form, for reconcile, and offers
the backfill a stricter guard (never overwrite a stored row of the same version), so a backfill
that read a row just before a live change can never put the older content back. For the
appliers it answers what the service side knows: which records have service writes that have
not reached legacy yet (the outbox), which exist, who owns each record now
(`migration_plans.ownership_state`), and it queues an owner's state for reverse sync.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DataError, IntegrityError, transaction
from django.db.models import Max, Min, Model

from domain.ownership import FeatureOwnership
from domain.records.source_spec import Canonical
from extracted.core.outbox import OutboxEntry, record_change
from extracted.core.sink import ApplyResult
from legacy_adapter.applied import (
    already_applied,
    ensure_applied_change_table,
    forget_applied,
    record_applied,
)
from legacy_adapter.change_ops import OUTBOX_RESTORE
from legacy_adapter.sources import LegacySource
from migration_plans.ownership_state import current_ownership

FORWARD_SOURCE = "legacy"  # the stream name under which forward change ids are recorded


@dataclass(frozen=True, slots=True)
class Counts:
    applied: int = 0
    unchanged: int = 0
    skipped_older: int = 0
    applied_keys: frozenset[int] = frozenset()
    older_keys: frozenset[int] = frozenset()  # lost to a newer service version
    kept_keys: frozenset[int] = frozenset()  # legacy deleted them, but the service wrote later
    stored_versions: dict[int, int] | None = None  # before the apply, for the conflict log

    @classmethod
    def of(cls, *results: ApplyResult) -> Counts:
        stored: dict[int, int] = {}
        for result in results:
            stored.update(result.stored_versions)
        return cls(
            applied=sum(r.applied for r in results),
            unchanged=sum(r.unchanged for r in results),
            skipped_older=sum(r.skipped_older for r in results),
            applied_keys=frozenset().union(*(r.applied_keys for r in results)),
            older_keys=frozenset().union(*(r.older_keys for r in results)),
            stored_versions=stored,
        )


class ServiceTarget:
    def __init__(
        self,
        *,
        source: LegacySource,
        alias: str,
        model: type[Model],
        sink: Callable[..., Any],
        delete_sink: Callable[..., int],
        unique_holders: Callable[..., set[int]],
        record_fields: tuple[str, ...],
        to_canonical: Callable[[tuple[Any, ...]], Canonical],
        record_type: Callable[..., Any],
        outbox: type[OutboxEntry],
    ) -> None:
        self.source = source
        self.alias = alias
        self.model = model
        self._sink = sink
        self._delete_sink = delete_sink
        self._unique_holders = unique_holders
        self.record_fields = record_fields
        self._to_canonical = to_canonical
        self.record_type = record_type  # builds the clean record from `record_fields` values
        self.outbox = outbox  # the service's Outbox model (contract C4), for reverse sync

    def ensure_tables(self) -> None:
        ensure_applied_change_table(self.alias)

    # -- forward apply -------------------------------------------------------------------------

    def applied_ids(self, change_ids: Sequence[int]) -> set[int]:
        return already_applied(self.alias, FORWARD_SOURCE, change_ids)

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
    ) -> Counts:
        """One service transaction: upsert (`forced` keys whatever the versions), delete
        (unless the service wrote the record later), record the change ids, and queue the
        service's state of `restore` for legacy (legacy writes refused by `owner_wins`)."""
        with transaction.atomic(using=self.alias):
            plain = [r for r in records if r.id not in forced]
            owner = [r for r in records if r.id in forced]
            results = []
            if plain:
                results.append(
                    self._sink(
                        records=plain,
                        versions=versions,
                        resolution_us=resolution_us,
                        service_wins_ties=service_wins_ties,
                    )
                )
            if owner:
                results.append(self._sink(records=owner, versions=versions, force=True))
            kept: frozenset[int] = frozenset()
            if deleted:
                stored = dict(
                    self.model._default_manager.using(self.alias)
                    .filter(pk__in=list(deleted))
                    .values_list("pk", "sync_version")
                )
                kept = frozenset(
                    key
                    for key in deleted
                    if key in stored
                    and key not in forced
                    and versions is not None
                    and _wins(stored[key], versions.get(key, 0), resolution_us,
                              key in service_wins_ties)
                )  # fmt: skip
                gone = [key for key in deleted if key not in kept]
                if gone:
                    self._delete_sink(ids=gone)
            record_applied(self.alias, FORWARD_SOURCE, change_ids)
            if restore:
                self.restore_owner_state(restore, request_id="ficus-owner-wins")
        counts = Counts.of(*results)
        return Counts(
            counts.applied,
            counts.unchanged,
            counts.skipped_older,
            counts.applied_keys,
            counts.older_keys,
            kept,
            counts.stored_versions,
        )

    # -- what the service side knows --------------------------------------------------------

    def ownership(self) -> FeatureOwnership:
        """Who owns each record of this feature now (the one rule, read from the control plane)."""
        return current_ownership(self.source.feature)

    def unwritten_keys(self, keys: Sequence[int]) -> set[int]:
        """Keys with service writes that have not reached legacy yet (pending outbox rows)."""
        if not keys:
            return set()
        pending = self.outbox._default_manager.using(self.alias).filter(
            processed_at__isnull=True,
            aggregate=self.source.aggregate,
            key__in=[str(key) for key in keys],
        )
        return {int(key) for key in pending.values_list("key", flat=True)}

    def existing_keys(self, keys: Sequence[int]) -> set[int]:
        manager = self.model._default_manager.using(self.alias)
        return set(manager.filter(pk__in=list(keys)).values_list("pk", flat=True))

    def unique_holders(self, records: Sequence[Any]) -> set[int]:
        """Records outside `records` that hold a unique value one of them takes (an MRN swap
        split across batches): the applier adds their current legacy rows to the batch."""
        return self._unique_holders(records) if records else set()

    def restore_owner_state(self, keys: Sequence[int], *, request_id: str) -> None:
        """Queue the service's state of `keys` for legacy whatever the versions (reverse sync
        writes it): a refused legacy write undone, or a repair."""
        with transaction.atomic(using=self.alias):
            for key in keys:
                record_change(
                    self.outbox,
                    aggregate=self.source.aggregate,
                    key=key,
                    operation=OUTBOX_RESTORE,
                    request_id=request_id,
                )

    def forget_applied(self, change_ids: Sequence[int]) -> None:
        forget_applied(self.alias, FORWARD_SOURCE, change_ids)

    def is_row_error(self, error: Exception) -> bool:
        # Constraint and data errors concern the rows; connection errors, configuration
        # errors and the like concern the service and must stop the batch, not poison a key.
        return isinstance(error, IntegrityError | DataError | ValidationError | ValueError)

    def backfill_apply(
        self, *, records: Sequence[Any], versions: Mapping[int, int] | None = None
    ) -> Counts:
        """Apply only rows that are new or strictly newer than the stored version."""
        with transaction.atomic(using=self.alias):
            manager = self.model._default_manager.using(self.alias)
            stored = dict(
                manager.select_for_update()
                .filter(pk__in=[r.id for r in records])
                .values_list("pk", "sync_version")
            )
            given = versions or {}
            fresh = [r for r in records if r.id not in stored or given.get(r.id, 0) > stored[r.id]]
            result = self._sink(records=fresh, versions=versions) if fresh else Counts()
        return Counts(
            result.applied,
            result.unchanged + len(records) - len(fresh),
            result.skipped_older,
        )

    # -- reconcile -----------------------------------------------------------------------------

    def canonical_rows(
        self, *, lo: int, hi: int, batch: int = 5000
    ) -> Iterator[tuple[int, Canonical]]:
        manager = self.model._default_manager.using(self.alias)
        after = lo - 1
        while True:
            rows = list(
                manager.filter(pk__gt=after, pk__lt=hi)
                .order_by("pk")
                .values_list(*self.record_fields)[:batch]
            )
            for row in rows:
                yield int(row[0]), self._to_canonical(row)
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def key_bounds(self) -> tuple[int | None, int | None]:
        bounds = self.model._default_manager.using(self.alias).aggregate(lo=Min("pk"), hi=Max("pk"))
        return bounds["lo"], bounds["hi"]


def _wins(stored: int, incoming: int, resolution_us: int, on_tie: bool) -> bool:
    """Whether the stored service version beats an incoming legacy one (see core.sink)."""
    coarse = stored - stored % resolution_us
    return incoming < coarse or (incoming == coarse and incoming != stored and on_tie)
