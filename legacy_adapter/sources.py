"""What each feature reads from the legacy database, and how a legacy row becomes a record.

One `LegacySource` per feature: the captured table and its key, the query that reads the
current rows (APPT_SCHED joins PATIENT_MASTER for the PAT_NM snapshot), the pure mapping to the
clean record and back, and the canonical form reconcile compares (legacy values as text, NULL as
"", which is how the legacy app shows them). Framework-free: SQLAlchemy and the pure mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, select
from sqlalchemy.orm import InstrumentedAttribute

from domain.records import format_person_name
from legacy_adapter.mapping.appointments import (
    APPT_SCHED_COLUMNS,
    LEGACY_APPOINTMENT_KEYS,
    appointment_from_legacy,
    appointment_to_legacy,
)
from legacy_adapter.mapping.patients import (
    PATIENT_MASTER_COLUMNS,
    patient_from_legacy,
    patient_to_legacy,
)
from legacy_adapter.schema import ApptSched, PatientMaster

LegacyRow = dict[str, object]
Canonical = tuple[str, ...]


def canonical(values: Sequence[object]) -> Canonical:
    """Values as reconcile compares them: text, NULL as "" (the legacy app shows no difference)."""
    return tuple("" if value is None else str(value) for value in values)


@dataclass(frozen=True, slots=True)
class LegacySource:
    feature: str
    table: str  # the captured table whose ficus_change rows this feature consumes
    key: str
    aggregate: str  # the outbox aggregate of the same records (contract C4)
    model: type[Any]  # the SQLAlchemy model of `table`
    key_attr: InstrumentedAttribute[int]
    query: Callable[[], Select[Any]]  # every column the mapping needs, keyed by `key`
    legacy_row: Callable[[Mapping[Any, Any]], LegacyRow]
    to_record: Callable[[LegacyRow], Any]  # raises MappingError
    to_legacy: Callable[[Any], LegacyRow]  # record → legacy object (all mapped columns)
    compared: tuple[str, ...]  # the legacy columns reconcile compares, in order
    written: tuple[str, ...]  # the columns a reverse write may set (the table's own)
    # A row of `query` straight to its canonical values (reconcile reads millions: no dicts).
    canonical_of: Callable[[Sequence[Any]], Canonical]

    def read(self, conn: Connection, keys: Sequence[int]) -> dict[int, LegacyRow]:
        """The current legacy rows for `keys` (absent keys were deleted)."""
        found: dict[int, LegacyRow] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = conn.execute(self.query().where(self.key_attr.in_(chunk))).mappings()
            for row in rows:
                found[row[self.key]] = self.legacy_row(row)
        return found

    def scan(
        self, conn: Connection, *, after: int | None, upto: int | None, limit: int
    ) -> list[LegacyRow]:
        """Rows with after < key <= upto, in key order, at most `limit` (keyset pagination)."""
        query = self.query().order_by(self.key_attr).limit(limit)
        if after is not None:
            query = query.where(self.key_attr > after)
        if upto is not None:
            query = query.where(self.key_attr <= upto)
        return [self.legacy_row(row) for row in conn.execute(query).mappings()]

    def canonical_rows(
        self, conn: Connection, *, lo: int, hi: int, batch: int = 5000
    ) -> Iterator[tuple[int, Canonical]]:
        """(key, canonical values) for lo <= key < hi, streamed in key order."""
        after = lo - 1
        to_canonical = self.canonical_of
        while True:
            query = (
                self.query()
                .where(self.key_attr > after, self.key_attr < hi)
                .order_by(self.key_attr)
                .limit(batch)
            )
            rows = conn.execute(query).all()
            for row in rows:
                yield row[0], to_canonical(row)
            if len(rows) < batch:
                return
            after = rows[-1][0]


# -- appointments ------------------------------------------------------------------------------


def _appointments_query() -> Select[Any]:
    return (
        select(
            *(getattr(ApptSched, name) for name in APPT_SCHED_COLUMNS),
            PatientMaster.LAST_NM,
            PatientMaster.FIRST_NM,
        )
        .select_from(ApptSched)
        # Outer, as the legacy app's own lookup: an appointment whose patient row is missing
        # (there are no foreign keys) is still served there, with PAT_NM "".
        .outerjoin(PatientMaster, PatientMaster.PAT_ID == ApptSched.PAT_ID)
    )


def _appointment_row(row: Mapping[Any, Any]) -> LegacyRow:
    legacy: LegacyRow = {name: row[name] for name in APPT_SCHED_COLUMNS}
    legacy["PAT_NM"] = format_person_name(row["LAST_NM"], row["FIRST_NM"])
    return legacy


def _appointment_canonical(row: Sequence[Any]) -> Canonical:
    # Query order: APPT_SCHED_COLUMNS (APPT_ID, PAT_ID, PROV_ID, APPT_DT, APPT_TM, DUR_MIN,
    # STATUS_CD, REASON_TXT, UPD_TS), LAST_NM, FIRST_NM; compared: LEGACY_APPOINTMENT_KEYS.
    key, pat, prov, day, hhmm, dur, status, reason, version, last, first = row
    return (
        str(key),
        str(pat),
        format_person_name(last, first),
        str(prov),
        day,
        hhmm,
        str(dur),
        status,
        "" if reason is None else reason,
        version,
    )


def appointments_source(zone_name: str) -> LegacySource:
    return LegacySource(
        feature="appointments",
        table="APPT_SCHED",
        key="APPT_ID",
        aggregate="appointment",
        model=ApptSched,
        key_attr=ApptSched.APPT_ID,
        query=_appointments_query,
        legacy_row=_appointment_row,
        to_record=lambda row: appointment_from_legacy(row, zone_name),
        to_legacy=lambda record: appointment_to_legacy(record, zone_name),
        compared=LEGACY_APPOINTMENT_KEYS,
        written=APPT_SCHED_COLUMNS,
        canonical_of=_appointment_canonical,
    )


# -- patients ----------------------------------------------------------------------------------


def _patients_query() -> Select[Any]:
    return select(*(getattr(PatientMaster, name) for name in PATIENT_MASTER_COLUMNS))


def patients_source() -> LegacySource:
    return LegacySource(
        feature="patients",
        table="PATIENT_MASTER",
        key="PAT_ID",
        aggregate="patient",
        model=PatientMaster,
        key_attr=PatientMaster.PAT_ID,
        query=_patients_query,
        legacy_row=lambda row: {name: row[name] for name in PATIENT_MASTER_COLUMNS},
        to_record=patient_from_legacy,
        to_legacy=patient_to_legacy,
        compared=PATIENT_MASTER_COLUMNS,
        written=PATIENT_MASTER_COLUMNS,
        canonical_of=canonical,
    )
