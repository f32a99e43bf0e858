"""Forward copy, legacy → service: read legacy rows, map them, hand them to the service's sink.

Two modes, both checkpointed in `ficus_sync_checkpoint`:

* **backfill** copies every row in key order, in batches read with keyset pagination
  (`WHERE key > last ORDER BY key LIMIT n`): memory stays bounded by one batch, and no read
  transaction stays open while the service writes. After each batch the highest key is saved,
  so an interrupted backfill resumes from there; a finished one starts again from the top.
  When it starts, it notes MAX(UPD_TS); when it finishes, that becomes the incremental stream's
  watermark, since every change made after the start carries a later UPD_TS.

* **incremental** copies the rows whose UPD_TS is at or after (watermark - overlap), ordered
  by (UPD_TS, key), and raises the watermark to the newest UPD_TS applied. The overlap re-reads
  a window of recent rows on every pass, for writers whose UPD_TS was stamped before they
  committed and for small clock differences between legacy app servers; re-reading is
  idempotent because the sink applies under a version guard. The watermark never moves past
  the present, so one row stamped in the future cannot make later changes invisible.

  This is a stop-gap. It scans APPT_SCHED on every pass (UPD_TS has no index, and Ficus does
  not add indexes to legacy tables), it cannot see deletes, and it depends on the legacy app
  stamping UPD_TS. Change-capture triggers writing change rows (a later issue, DESIGN.md §5)
  replace it.

Rows that fail mapping are never silently dropped and never stop the others: each one is
logged with its key and the problem (never its values), counted, and listed in the report.
Until the dead-letter table arrives, a failed row is retried when the row is edited again
(incremental) or by the next backfill.

The engine, the sink and the clock are passed in; nothing here creates a connection of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine, RowMapping, Select, and_, func, or_, select

from legacy_adapter.checkpoints import (
    BACKFILL,
    DONE,
    IDLE,
    INCREMENTAL,
    RUNNING,
    Checkpoint,
    CheckpointStore,
)
from legacy_adapter.mapping import (
    AppointmentRecord,
    MappingError,
    UtcTimestampCodec,
    appointment_from_legacy,
    format_person_name,
)
from legacy_adapter.schema import ApptSched, PatientMaster

logger = logging.getLogger("ficus.sync")

FORWARD = "forward"
DEFAULT_BATCH_SIZE = 1000
DEFAULT_OVERLAP = timedelta(minutes=5)
MAX_LISTED_FAILURES = 100  # all are counted and logged; the report lists the first ones
_TIMESTAMPS = UtcTimestampCodec()


class SinkResult(Protocol):
    @property
    def applied(self) -> int: ...

    @property
    def unchanged(self) -> int: ...

    @property
    def skipped_older(self) -> int: ...


class AppointmentSink(Protocol):
    """The service side: `extracted.appointments.services.apply_legacy_appointments`."""

    def __call__(self, *, records: Sequence[AppointmentRecord]) -> SinkResult: ...


@dataclass(frozen=True, slots=True)
class FailedRow:
    key: int
    problem: str  # a MappingError message: the column and what is wrong, no values


@dataclass(slots=True)
class CopyReport:
    mode: str
    total: int | None = None  # rows to read, when known up front (backfill)
    read: int = 0
    applied: int = 0
    unchanged: int = 0
    skipped_older: int = 0
    failed: int = 0
    failures: list[FailedRow] = field(default_factory=list)
    resumed_after: int | None = None
    watermark: str | None = None

    def summary(self) -> str:
        return (
            f"{self.mode}: read {self.read}, applied {self.applied}, unchanged {self.unchanged}, "
            f"skipped as older {self.skipped_older}, failed {self.failed}"
        )


@dataclass(frozen=True, slots=True)
class _Batch:
    records: list[AppointmentRecord]
    failures: list[FailedRow]
    read: int
    last_key: int
    last_version: str  # raw UPD_TS of the last row (pagination position in incremental mode)
    newest_valid_version: str | None  # highest well-formed UPD_TS among the mapped rows


class AppointmentsForwardCopy:
    """Copies APPT_SCHED (with PAT_NM from PATIENT_MASTER) into the appointments service."""

    feature = "appointments"

    def __init__(
        self,
        engine: Engine,
        sink: AppointmentSink,
        *,
        zone_name: str,
        batch_size: int = DEFAULT_BATCH_SIZE,
        overlap: timedelta = DEFAULT_OVERLAP,
        clock: Callable[[], datetime] | None = None,
        progress: Callable[[CopyReport], None] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._engine = engine
        self._sink = sink
        self._zone_name = zone_name
        self._batch_size = batch_size
        self._overlap = overlap
        self._clock = clock or (lambda: datetime.now(UTC))
        self._progress = progress
        self.checkpoints = CheckpointStore(engine)

    # -- reading ---------------------------------------------------------------------------

    def _query(self) -> Select[*tuple[Any, ...]]:
        return (
            select(
                ApptSched.APPT_ID,
                ApptSched.PAT_ID,
                ApptSched.PROV_ID,
                ApptSched.APPT_DT,
                ApptSched.APPT_TM,
                ApptSched.DUR_MIN,
                ApptSched.STATUS_CD,
                ApptSched.REASON_TXT,
                ApptSched.UPD_TS,
                PatientMaster.LAST_NM,
                PatientMaster.FIRST_NM,
            )
            .select_from(ApptSched)
            # Outer, as the legacy app's own lookup: an appointment whose patient row is
            # missing (there are no foreign keys) is still served there, with PAT_NM "".
            .outerjoin(PatientMaster, PatientMaster.PAT_ID == ApptSched.PAT_ID)
            .limit(self._batch_size)
        )

    def _fetch(self, query: Select[*tuple[Any, ...]]) -> _Batch | None:
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        if not rows:
            return None
        records: list[AppointmentRecord] = []
        failures: list[FailedRow] = []
        newest: str | None = None
        for row in rows:
            legacy = _legacy_row(row)
            try:
                record = appointment_from_legacy(legacy, self._zone_name)
            except MappingError as e:
                failures.append(FailedRow(key=row["APPT_ID"], problem=str(e)))
                logger.warning("%s row %s cannot be mapped: %s", self.feature, row["APPT_ID"], e)
                continue
            records.append(record)
            newest = row["UPD_TS"] if newest is None else max(newest, row["UPD_TS"])
        last = rows[-1]
        return _Batch(records, failures, len(rows), last["APPT_ID"], last["UPD_TS"], newest)

    def _apply(self, batch: _Batch, report: CopyReport) -> None:
        result = self._sink(records=batch.records) if batch.records else None
        report.read += batch.read
        if result is not None:
            report.applied += result.applied
            report.unchanged += result.unchanged
            report.skipped_older += result.skipped_older
        report.failed += len(batch.failures)
        room = MAX_LISTED_FAILURES - len(report.failures)
        report.failures.extend(batch.failures[: max(room, 0)])

    def _tick(self, report: CopyReport) -> None:
        if self._progress is not None:
            self._progress(report)

    # -- backfill --------------------------------------------------------------------------

    def backfill(self) -> CopyReport:
        """Copy every row in key order; resume an interrupted backfill where it stopped."""
        saved = self.checkpoints.get(self.feature, FORWARD, BACKFILL)
        if saved is not None and saved.state == RUNNING:
            after, snapshot = saved.last_key, saved.watermark
        else:
            after, snapshot = None, self._max_version()
            self._save(BACKFILL, RUNNING, last_key=None, watermark=snapshot)
        report = CopyReport(mode=BACKFILL, total=self._count(after), resumed_after=after)
        last_key = after
        for batch in self._backfill_batches(after):
            self._apply(batch, report)
            last_key = batch.last_key
            self._save(BACKFILL, RUNNING, last_key=last_key, watermark=snapshot)
            self._tick(report)
        self._save(BACKFILL, DONE, last_key=last_key, watermark=snapshot)
        report.watermark = self._hand_over_watermark(snapshot)
        return report

    def _backfill_batches(self, after: int | None) -> Iterator[_Batch]:
        while True:
            query = self._query().order_by(ApptSched.APPT_ID)
            if after is not None:
                query = query.where(ApptSched.APPT_ID > after)
            batch = self._fetch(query)
            if batch is None:
                return
            yield batch
            after = batch.last_key

    def _count(self, after: int | None) -> int:
        query = select(func.count()).select_from(ApptSched)
        if after is not None:
            query = query.where(ApptSched.APPT_ID > after)
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def _max_version(self) -> str | None:
        with self._engine.connect() as conn:
            value = conn.execute(select(func.max(ApptSched.UPD_TS))).scalar_one()
        try:
            _TIMESTAMPS.decode(value)
        except MappingError:
            return None  # empty table, or the newest UPD_TS is garbage: start from nothing
        return str(value)

    def _hand_over_watermark(self, snapshot: str | None) -> str | None:
        """After a finished backfill, incremental copying need not look further back than
        where the backfill started (keeping a later watermark if incremental is ahead)."""
        current = self.checkpoints.get(self.feature, FORWARD, INCREMENTAL)
        watermark = current.watermark if current is not None else None
        if snapshot is not None and (watermark is None or snapshot > watermark):
            watermark = self._not_after_now(snapshot)
        self._save(INCREMENTAL, IDLE, last_key=None, watermark=watermark)
        return watermark

    # -- incremental -----------------------------------------------------------------------

    def incremental(self) -> CopyReport:
        """One pass: copy rows changed since the watermark (minus the overlap window)."""
        saved = self.checkpoints.get(self.feature, FORWARD, INCREMENTAL)
        watermark = saved.watermark if saved is not None else None
        report = CopyReport(mode=INCREMENTAL, watermark=watermark)
        lower = self._minus_overlap(watermark)
        position: tuple[str, int] | None = None
        while True:
            query = self._query().order_by(ApptSched.UPD_TS, ApptSched.APPT_ID)
            if position is None:
                if lower is not None:
                    query = query.where(ApptSched.UPD_TS >= lower)
            else:
                version, key = position
                query = query.where(
                    or_(
                        ApptSched.UPD_TS > version,
                        and_(ApptSched.UPD_TS == version, ApptSched.APPT_ID > key),
                    )
                )
            batch = self._fetch(query)
            if batch is None:
                break
            self._apply(batch, report)
            if batch.newest_valid_version is not None:
                candidate = self._not_after_now(batch.newest_valid_version)
                if watermark is None or candidate > watermark:
                    watermark = candidate
            self._save(INCREMENTAL, IDLE, last_key=None, watermark=watermark)
            position = (batch.last_version, batch.last_key)
            self._tick(report)
        report.watermark = watermark
        return report

    def _minus_overlap(self, watermark: str | None) -> str | None:
        if watermark is None:
            return None
        return _TIMESTAMPS.encode(_TIMESTAMPS.decode(watermark) - self._overlap)

    def _not_after_now(self, version: str) -> str:
        now = _TIMESTAMPS.encode(self._clock().astimezone(UTC).replace(microsecond=0))
        return min(version, now)

    def _save(
        self, stream: str, state: str, *, last_key: int | None, watermark: str | None
    ) -> None:
        self.checkpoints.save(
            Checkpoint(self.feature, FORWARD, stream, state, last_key=last_key, watermark=watermark)
        )


def _legacy_row(row: RowMapping) -> dict[str, object]:
    """The legacy appointment row the mapping expects, PAT_NM built as the legacy app does."""
    return {
        "APPT_ID": row["APPT_ID"],
        "PAT_ID": row["PAT_ID"],
        "PAT_NM": format_person_name(row["LAST_NM"], row["FIRST_NM"]),
        "PROV_ID": row["PROV_ID"],
        "APPT_DT": row["APPT_DT"],
        "APPT_TM": row["APPT_TM"],
        "DUR_MIN": row["DUR_MIN"],
        "STATUS_CD": row["STATUS_CD"],
        "REASON_TXT": row["REASON_TXT"],
        "UPD_TS": row["UPD_TS"],
    }
