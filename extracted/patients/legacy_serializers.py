"""The legacy patient objects, built from the model through the pure mapping.

The model becomes a `PatientRecord` and `legacy_adapter.mapping.patients` renders it, so the
service's JSON is by construction the row forward sync read, in the legacy key order. The one
presentation rule on top is the legacy app's: the SSN leaves masked as `XXX-XX-1234`.
"""

from __future__ import annotations

from typing import Any

from domain.records import CodeCodec, LegacyDateCodec
from extracted.patients.models import Patient
from legacy_adapter.mapping.patients import (
    PATIENT_SUMMARY_KEYS,
    SEX_CODES,
    PatientRecord,
    Sex,
    patient_to_legacy,
)

_DATE = LegacyDateCodec()
_SEX = CodeCodec(SEX_CODES)


def record_from_patient(patient: Patient) -> PatientRecord:
    return PatientRecord(
        id=patient.pk,
        mrn=patient.mrn,
        family_name=patient.family_name,
        given_name=patient.given_name,
        birth_date=patient.birth_date,
        sex=Sex(patient.sex),
        ssn=patient.ssn,
        phone=patient.phone or "",
        address_line=patient.address_line or "",
        city=patient.city,
        state=patient.state,
        postal_code=patient.postal_code,
        source_updated_at=patient.source_updated_at,
    )


def mask_ssn(ssn: str | None) -> str | None:
    """The legacy app's mask: `XXX-XX-` and the last four digits; None stays None."""
    if ssn is None:
        return None
    digits = [c for c in ssn if c.isascii() and c.isdigit()]
    return f"XXX-XX-{''.join(digits[-4:])}" if len(digits) >= 4 else "XXX-XX-XXXX"


def legacy_detail(patient: Patient) -> dict[str, Any]:
    row = patient_to_legacy(record_from_patient(patient))
    return {**row, "SSN": mask_ssn(patient.ssn)}


def legacy_summary(patient: Patient) -> dict[str, Any]:
    # Only the summary columns are encoded: the encrypted fields are never decrypted for a search.
    row = {
        "PAT_ID": patient.pk,
        "MRN": patient.mrn,
        "LAST_NM": patient.family_name,
        "FIRST_NM": patient.given_name,
        "DOB": _DATE.encode(patient.birth_date),
        "SEX_CD": _SEX.encode(Sex(patient.sex)),
    }
    return {key: row[key] for key in PATIENT_SUMMARY_KEYS}
