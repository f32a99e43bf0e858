"""Shadow evidence in memory, and its flush to the control plane (`ficus_evidence_*`).

Shaped like `proxy.route_stats`: one `RouteTally` (`domain.noise`) per (10 s window, feature,
method, template), at most `max_keys` of them (a new key beyond that is dropped and counted),
inserted as one row per key and flush, so no worker updates another's row and the control plane
sums them. Only the recorder's thread touches an `EvidenceStore`, so it needs no lock.

Samples (already de-identified by the recorder: nothing raw ever reaches this module) wait in a
list of at most `max_pending` and are written at most `max_samples_per_field` per (feature,
template, field), counting the rows the table already holds: a key found full is remembered
and not asked again until the next retention pass. Several workers can each add the last few
samples of one key at once, so the bound may be overshot by at most one flush per worker.

Retention: the flusher (not the control plane) deletes the samples and the tallies of a feature
older than its plan's `retention_days`, once a minute (a feature no plan declares any more: after
the default retention; `domain.evidence_retention`, which the control plane can call too).
When the database cannot be written, tallies are kept
(merged into the next flush, within `max_keys`) and samples dropped (counted): they are
examples, and the tally already counted what they show.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from sqlalchemy import Connection, Engine, delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from domain.evidence_retention import expired_before, undeclared_expired_before
from domain.noise import RouteTally
from proxy.control_schema import evidence_sample_table, evidence_tally_table
from proxy.outage import OutageLog

logger = logging.getLogger(__name__)

WINDOW_SECONDS: Final = 10
MAX_KEYS: Final = 20_000
MAX_PENDING_SAMPLES: Final = 2_000
RETENTION_PASS_SECONDS: Final = 60.0

# (window start as epoch seconds, feature, method, template)
TallyKey = tuple[int, str, str, str]
# (feature, template, field)
SampleKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Sample:
    feature: str
    method: str
    template: str
    field: str
    kind: str  # real or noise
    legacy_value: str  # JSON of the de-identified value
    other_value: str
    limit: int  # the plan's max_samples_per_field


class EvidenceStore:
    def __init__(
        self,
        *,
        worker: str,
        max_keys: int = MAX_KEYS,
        max_pending: int = MAX_PENDING_SAMPLES,
        clock: Callable[[], float],
    ) -> None:
        self.worker = worker
        self._tallies: dict[TallyKey, RouteTally] = {}
        self._samples: list[Sample] = []
        self._full: set[SampleKey] = set()
        self._max_keys = max_keys
        self._max_pending = max_pending
        self._clock = clock
        self._outage = OutageLog(logger, "shadow evidence")
        self._last_retention = float("-inf")
        self.dropped_keys = 0
        self.dropped_samples = 0

    def __len__(self) -> int:
        return len(self._tallies)

    def tally(self, feature: str, method: str, template: str) -> RouteTally | None:
        """This window's tally for the route; None (and counted) beyond the key bound."""
        now = int(self._clock())
        key = (now // WINDOW_SECONDS * WINDOW_SECONDS, feature, method[:10], template[:200])
        tally = self._tallies.get(key)
        if tally is None:
            if len(self._tallies) >= self._max_keys:
                self.dropped_keys += 1
                return None
            tally = self._tallies[key] = RouteTally()
        return tally

    def wants_sample(self, feature: str, template: str, field: str) -> bool:
        return (feature, template[:200], field[:200]) not in self._full and len(
            self._samples
        ) < self._max_pending

    def add_sample(self, sample: Sample) -> None:
        if not self.wants_sample(sample.feature, sample.template, sample.field):
            self.dropped_samples += 1
            return
        self._samples.append(sample)

    def flush(self, engine: Engine, retention_days: Mapping[str, float]) -> int:
        """Write what was gathered; returns the tally rows written (0 when the database failed)."""
        tallies, self._tallies = self._tallies, {}
        samples, self._samples = self._samples, []
        if not tallies and not samples and not self._retention_due():
            return 0
        try:
            with engine.begin() as connection:
                if tallies:
                    connection.execute(insert(evidence_tally_table), self._rows(tallies))
                if self._retention_due():
                    self._expire(connection, retention_days)  # first: it makes room
                self._write_samples(connection, samples)
        except SQLAlchemyError as e:
            self._put_back(tallies)
            self.dropped_samples += len(samples)
            self._outage.failed(e)
            return 0
        self._outage.succeeded()
        return len(tallies)

    def _rows(self, tallies: dict[TallyKey, RouteTally]) -> list[dict[str, object]]:
        return [
            {
                "worker": self.worker,
                "feature": feature,
                "method": method,
                "template": template,
                "window_start": datetime.fromtimestamp(window, UTC),
                "tally": json.dumps(tally.as_dict(), separators=(",", ":")),
            }
            for (window, feature, method, template), tally in tallies.items()
        ]

    def _put_back(self, tallies: dict[TallyKey, RouteTally]) -> None:
        for key, tally in tallies.items():
            mine = self._tallies.get(key)
            if mine is not None:
                mine.merge(tally)
            elif len(self._tallies) < self._max_keys:
                self._tallies[key] = tally
            else:
                self.dropped_keys += 1

    def _write_samples(self, connection: Connection, samples: list[Sample]) -> None:
        c = evidence_sample_table.c
        room: dict[SampleKey, int] = {}
        rows: list[dict[str, object]] = []
        now = datetime.fromtimestamp(self._clock(), UTC)
        for sample in samples:
            key = (sample.feature, sample.template[:200], sample.field[:200])
            if key in self._full:
                self.dropped_samples += 1
                continue
            if key not in room:
                held = connection.execute(
                    select(func.count())
                    .select_from(evidence_sample_table)
                    .where(c.feature == key[0], c.template == key[1], c.field == key[2])
                ).scalar_one()
                room[key] = sample.limit - int(held)
            if room[key] <= 0:
                self._full.add(key)
                self.dropped_samples += 1
                continue
            room[key] -= 1
            rows.append(
                {
                    "feature": sample.feature,
                    "method": sample.method[:10],
                    "template": key[1],
                    "field": key[2],
                    "kind": sample.kind,
                    "legacy_value": sample.legacy_value,
                    "other_value": sample.other_value,
                    "recorded_at": now,
                }
            )
        if rows:
            connection.execute(insert(evidence_sample_table), rows)

    def _retention_due(self) -> bool:
        return self._clock() - self._last_retention >= RETENTION_PASS_SECONDS

    def _expire(self, connection: Connection, retention_days: Mapping[str, float]) -> None:
        """Samples and tallies older than their feature's retention (`domain.evidence_retention`),
        both tables: tallies are appended every window by every worker and would grow forever."""
        self._last_retention = self._clock()
        now = datetime.fromtimestamp(self._last_retention, UTC)
        for table, column in (
            (evidence_sample_table, evidence_sample_table.c.recorded_at),
            (evidence_tally_table, evidence_tally_table.c.window_start),
        ):
            feature = table.c.feature
            for name in retention_days:
                cutoff = expired_before(now, name, retention_days)
                connection.execute(delete(table).where(feature == name, column < cutoff))
            # A feature no plan declares any more: after the default retention.
            connection.execute(
                delete(table).where(
                    feature.not_in(list(retention_days)), column < undeclared_expired_before(now)
                )
            )
        self._full.clear()  # room may have been made
