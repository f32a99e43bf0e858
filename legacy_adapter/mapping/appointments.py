"""APPT_SCHED (+ PAT_NM from PATIENT_MASTER) ↔ the clean `AppointmentRecord`.

The clean record is what the appointments service stores: plain names, an aware start (UTC
whenever UTC holds it, see instants.py), an enum status and the legacy UPD_TS as
`source_updated_at` (the version guard of every apply).
`id` *is* APPT_ID: the legacy URL `/api/appointments/{id}` must keep working on both sides, and
a shared key makes sync, reconcile and rollback a matter of comparing rows, not of translating
ids. PAT_NM is a lookup (`LAST_NM + ", " + FIRST_NM`), not an APPT_SCHED column: it is read for
the snapshot `patient_display_name` and is never written back (`APPT_SCHED_COLUMNS` omits it).

The mapping depends on the hospital's time zone (APPT_DT/APPT_TM are local wall-clock times),
so it is built per zone by `appointment_mapping(zone)`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from domain.records.codecs import (
    CodeCodec,
    DisplayNameCodec,
    IntRangeCodec,
    LocalDateTimeCodec,
    TextCodec,
    UtcTimestampCodec,
    format_person_name,
)
from domain.records.mapping import RecordMapping, column, columns
from domain.records.source_spec import Canonical, LegacyRow, OuterJoin, SourceSpec


class AppointmentStatus(enum.StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    ARRIVED = "arrived"


STATUS_CODES = {
    "B": AppointmentStatus.BOOKED,
    "C": AppointmentStatus.CANCELLED,
    "N": AppointmentStatus.NO_SHOW,
    "A": AppointmentStatus.ARRIVED,
}

# Every key the legacy app's appointment object has, in its order (also the JSON key order).
LEGACY_APPOINTMENT_KEYS = (
    "APPT_ID",
    "PAT_ID",
    "PAT_NM",
    "PROV_ID",
    "APPT_DT",
    "APPT_TM",
    "DUR_MIN",
    "STATUS_CD",
    "REASON_TXT",
    "UPD_TS",
)
# The subset that lives in APPT_SCHED (what a reverse write may touch).
APPT_SCHED_COLUMNS = tuple(key for key in LEGACY_APPOINTMENT_KEYS if key != "PAT_NM")


@dataclass(frozen=True, slots=True)
class AppointmentRecord:
    id: int
    patient_id: int
    patient_display_name: str
    provider_id: int
    starts_at: datetime
    duration_minutes: int
    status: AppointmentStatus
    reason: str
    source_updated_at: datetime


_ID = IntRangeCodec()


def appointment_mapping(zone: tzinfo) -> RecordMapping[AppointmentRecord]:
    when = LocalDateTimeCodec(zone, date_column="APPT_DT", time_column="APPT_TM")
    return RecordMapping(
        record_type=AppointmentRecord,
        fields=(
            column("id", "APPT_ID", _ID),
            column("patient_id", "PAT_ID", _ID),
            column("patient_display_name", "PAT_NM", DisplayNameCodec()),
            column("provider_id", "PROV_ID", _ID),
            columns("starts_at", ("APPT_DT", "APPT_TM"), decode=when.decode, encode=when.encode),
            # A day at most: longer is not an appointment. The legacy UI books 5..240.
            column("duration_minutes", "DUR_MIN", IntRangeCodec(1, 24 * 60)),
            column("status", "STATUS_CD", CodeCodec(STATUS_CODES)),
            column("reason", "REASON_TXT", TextCodec(max_length=80)),
            column("source_updated_at", "UPD_TS", UtcTimestampCodec()),
        ),
    )


@lru_cache(maxsize=8)
def _mapping_for(zone_name: str) -> RecordMapping[AppointmentRecord]:
    return appointment_mapping(ZoneInfo(zone_name))


def appointment_from_legacy(row: Mapping[str, object], zone_name: str) -> AppointmentRecord:
    """Map one legacy row (APPT_SCHED columns plus PAT_NM); raises MappingError."""
    return _mapping_for(zone_name).from_legacy(row)


def appointment_to_legacy(record: AppointmentRecord, zone_name: str) -> dict[str, object]:
    """The legacy appointment object (all of LEGACY_APPOINTMENT_KEYS, in order)."""
    return _mapping_for(zone_name).to_legacy(record)


# -- what sync reads from legacy ---------------------------------------------------------------


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


def source(zone_name: str) -> SourceSpec:
    """APPT_SCHED, each row with its patient's name (outer: as the legacy app's own lookup, an
    appointment whose patient row is missing is still served there, with PAT_NM "")."""
    return SourceSpec(
        feature="appointments",
        table="APPT_SCHED",
        key="APPT_ID",
        aggregate="appointment",
        columns=APPT_SCHED_COLUMNS,
        joins=(OuterJoin("PATIENT_MASTER", on="PAT_ID", columns=("LAST_NM", "FIRST_NM")),),
        legacy_row=_appointment_row,
        to_record=lambda row: appointment_from_legacy(row, zone_name),
        to_legacy=lambda record: appointment_to_legacy(record, zone_name),
        compared=LEGACY_APPOINTMENT_KEYS,
        written=APPT_SCHED_COLUMNS,
        canonical_of=_appointment_canonical,
    )
