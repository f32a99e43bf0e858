"""PATIENT_MASTER ↔ the clean `PatientRecord` (what the patients service stores).

Column by column: PAT_ID is the record id (as APPT_ID is for appointments, so the legacy URL
`/api/patients/{id}` works on both sides); MRN, LAST_NM and FIRST_NM are required text kept as
stored (upper case, no trimming: the legacy app shows the raw columns); DOB is a CHAR(8) date;
SEX_CD is one of M/F/U; SSN is `NNN-NN-NNNN` or NULL; the contact columns (PHONE, ADDR1, CITY,
ST, ZIP) may be NULL, which reads as "" and is written back as NULL (the legacy app itself never
stores "" there: its PUT turns a cleared phone into NULL), so legacy → clean → legacy is the
identity on every valid row. UPD_TS becomes `source_updated_at`, the version guard.

The mapping holds no time zone (DOB is a calendar date, UPD_TS is UTC), so it is built once.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from domain.records.codecs import (
    CodeCodec,
    IntRangeCodec,
    LegacyDateCodec,
    TextCodec,
    UtcTimestampCodec,
    legacy_text,
)
from domain.records.errors import MappingError
from domain.records.mapping import RecordMapping, column
from domain.records.source_spec import SourceSpec, canonical


class Sex(enum.StrEnum):
    # The values are FHIR's administrative gender codes, so the FHIR face needs no table.
    MALE = "male"
    FEMALE = "female"
    UNKNOWN = "unknown"


SEX_CODES = {"M": Sex.MALE, "F": Sex.FEMALE, "U": Sex.UNKNOWN}

# Every key of the legacy patient object (GET /api/patients/{id}), in its order; all are columns.
PATIENT_MASTER_COLUMNS = (
    "PAT_ID",
    "MRN",
    "LAST_NM",
    "FIRST_NM",
    "DOB",
    "SEX_CD",
    "SSN",
    "PHONE",
    "ADDR1",
    "CITY",
    "ST",
    "ZIP",
    "UPD_TS",
)
# A search hit (GET /api/patients?q=) shows only these, in this order.
PATIENT_SUMMARY_KEYS = PATIENT_MASTER_COLUMNS[:6]

_SSN = re.compile(r"[0-9]{3}-[0-9]{2}-[0-9]{4}")


@dataclass(frozen=True, slots=True)
class PatientRecord:
    id: int
    mrn: str
    family_name: str
    given_name: str
    birth_date: date
    sex: Sex
    ssn: str | None
    phone: str
    address_line: str
    city: str
    state: str
    postal_code: str
    source_updated_at: datetime


@dataclass(frozen=True, slots=True)
class RequiredTextCodec:
    """VARCHAR(n) NOT NULL ↔ a non-empty `str`, kept verbatim."""

    max_length: int

    def _check(self, value: object) -> str:
        if value == "":
            raise MappingError("is empty")
        return legacy_text(value, self.max_length)

    def decode(self, raw: object) -> str:
        return self._check(raw)

    def encode(self, value: str) -> str:
        return self._check(value)


@dataclass(frozen=True, slots=True)
class SsnCodec:
    """CHAR(11) `NNN-NN-NNNN` or NULL ↔ `str | None` (never anything in between)."""

    def _check(self, value: object) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not (value.isascii() and _SSN.fullmatch(value)):
            raise MappingError("is not in the form NNN-NN-NNNN")
        return value

    def decode(self, raw: object) -> str | None:
        return self._check(raw)

    def encode(self, value: str | None) -> str | None:
        return self._check(value)


def _optional(max_length: int) -> TextCodec:
    return TextCodec(max_length=max_length, empty_as=None)


PATIENT_MAPPING: RecordMapping[PatientRecord] = RecordMapping(
    record_type=PatientRecord,
    fields=(
        column("id", "PAT_ID", IntRangeCodec()),
        column("mrn", "MRN", RequiredTextCodec(10)),
        column("family_name", "LAST_NM", RequiredTextCodec(35)),
        column("given_name", "FIRST_NM", RequiredTextCodec(25)),
        column("birth_date", "DOB", LegacyDateCodec()),
        column("sex", "SEX_CD", CodeCodec(SEX_CODES)),
        column("ssn", "SSN", SsnCodec()),
        column("phone", "PHONE", _optional(14)),
        column("address_line", "ADDR1", _optional(60)),
        column("city", "CITY", _optional(30)),
        column("state", "ST", _optional(2)),
        column("postal_code", "ZIP", _optional(5)),
        column("source_updated_at", "UPD_TS", UtcTimestampCodec()),
    ),
)


def patient_from_legacy(row: Mapping[str, object]) -> PatientRecord:
    """Map one PATIENT_MASTER row; raises MappingError naming the column (never the value)."""
    return PATIENT_MAPPING.from_legacy(row)


def patient_to_legacy(record: PatientRecord) -> dict[str, object]:
    """The PATIENT_MASTER row for `record` (full SSN), keys in the legacy JSON order."""
    return PATIENT_MAPPING.to_legacy(record)


def source() -> SourceSpec:
    """PATIENT_MASTER, compared and written column for column."""
    return SourceSpec(
        feature="patients",
        table="PATIENT_MASTER",
        key="PAT_ID",
        aggregate="patient",
        columns=PATIENT_MASTER_COLUMNS,
        legacy_row=lambda row: {name: row[name] for name in PATIENT_MASTER_COLUMNS},
        to_record=patient_from_legacy,
        to_legacy=patient_to_legacy,
        compared=PATIENT_MASTER_COLUMNS,
        written=PATIENT_MASTER_COLUMNS,
        canonical_of=canonical,
    )
