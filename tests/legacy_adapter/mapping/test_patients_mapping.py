"""PATIENT_MASTER ↔ PatientRecord: round trips on valid rows, clear errors on invalid ones."""

from __future__ import annotations

from datetime import UTC, date, datetime
from random import Random

import pytest

from demo.legacy import synthetic
from domain.records import MappingError
from legacy_adapter.mapping.patients import (
    PATIENT_MAPPING,
    PATIENT_MASTER_COLUMNS,
    PatientRecord,
    Sex,
    patient_from_legacy,
    patient_to_legacy,
)

ROW = {
    "PAT_ID": 17, "MRN": "M0000017", "LAST_NM": "DOE", "FIRST_NM": "JANE", "DOB": "19800229",
    "SEX_CD": "F", "SSN": "912-34-5678", "PHONE": "(312) 555-0142", "ADDR1": "12 ELM ST",
    "CITY": "OAKTON", "ST": "IL", "ZIP": "60601", "UPD_TS": "20261120083000",
}  # fmt: skip


def test_it_maps_a_row_to_clean_names_and_types():
    assert patient_from_legacy(ROW) == PatientRecord(
        id=17,
        mrn="M0000017",
        family_name="DOE",
        given_name="JANE",
        birth_date=date(1980, 2, 29),
        sex=Sex.FEMALE,
        ssn="912-34-5678",
        phone="(312) 555-0142",
        address_line="12 ELM ST",
        city="OAKTON",
        state="IL",
        postal_code="60601",
        source_updated_at=datetime(2026, 11, 20, 8, 30, tzinfo=UTC),
    )


def synthetic_rows(count: int):
    rng = Random(7)
    for pat_id in range(1, count + 1):
        sex = rng.choice("MFU")
        yield {
            "PAT_ID": pat_id, "MRN": f"M{pat_id:07d}", "LAST_NM": synthetic.surname(rng),
            "FIRST_NM": synthetic.given_name(rng, sex), "DOB": f"19{rng.randint(10, 99)}0{rng.randint(1, 9)}1{rng.randint(0, 9)}",  # noqa: E501
            "SEX_CD": sex, "SSN": rng.choice([None, synthetic.ssn(rng)]),
            "PHONE": rng.choice([None, synthetic.phone(rng)]),
            "ADDR1": rng.choice([None, synthetic.street_address(rng)]),
            "CITY": rng.choice([None, synthetic.city(rng)]), "ST": rng.choice([None, "IL"]),
            "ZIP": rng.choice([None, synthetic.zip_code(rng)]), "UPD_TS": "20260101120000",
        }  # fmt: skip


def test_legacy_to_clean_to_legacy_is_the_identity_on_valid_rows():
    rows = list(synthetic_rows(300))

    assert [patient_to_legacy(patient_from_legacy(row)) for row in rows] == rows
    assert list(patient_to_legacy(patient_from_legacy(ROW))) == list(PATIENT_MASTER_COLUMNS)


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("DOB", "19800230", "DOB: is not a real calendar date"),
        ("DOB", "1980-02-2", "DOB: is not 8 digits (expected YYYYMMDD)"),
        ("SEX_CD", "Q", "SEX_CD: is not one of the codes F, M, U"),
        ("SSN", "912345678", "SSN: is not in the form NNN-NN-NNNN"),
        ("LAST_NM", "", "LAST_NM: is empty"),
        ("FIRST_NM", None, "FIRST_NM: is not text"),
        ("ZIP", "606011", "ZIP: is longer than 5 characters"),
        ("UPD_TS", "2026", "UPD_TS: is not 14 digits (expected YYYYMMDDHHMMSS)"),
    ],
)
def test_it_names_the_column_and_never_the_value(column, value, problem):
    with pytest.raises(MappingError) as caught:
        patient_from_legacy({**ROW, column: value})

    assert str(caught.value) == problem
    assert str(caught.value).partition(":")[0] == column


def test_a_missing_column_is_an_error():
    row = {k: v for k, v in ROW.items() if k != "SSN"}

    with pytest.raises(MappingError, match="SSN: is missing from the row"):
        patient_from_legacy(row)


def test_each_sex_code_maps_to_a_fhir_gender_and_back():
    for code, sex in (("M", "male"), ("F", "female"), ("U", "unknown")):
        record = patient_from_legacy({**ROW, "SEX_CD": code})
        assert record.sex == sex
        assert patient_to_legacy(record)["SEX_CD"] == code


@pytest.mark.parametrize(
    ("field", "value", "column", "problem"),
    [
        ("family_name", "SS" * 18, "LAST_NM", "is longer than 35 characters"),
        ("family_name", "DOE\x00", "LAST_NM", "holds a character the legacy database cannot store"),
        ("city", "OAK\ud800", "CITY", "holds a character the legacy database cannot store"),
        ("given_name", "", "FIRST_NM", "is empty"),
    ],
)
def test_a_value_no_legacy_row_can_hold_is_named_by_its_column(field, value, column, problem):
    # The check a service runs before it accepts a write (extracted.core.legacy_constraints).
    with pytest.raises(MappingError) as caught:
        PATIENT_MAPPING.check_field(field, value)
    assert (caught.value.column, caught.value.problem) == (column, problem)
    assert value not in str(caught.value) or value == ""


def test_any_text_that_fits_is_held_including_astral_characters():
    PATIENT_MAPPING.check_field("family_name", "😀" * 35)
    PATIENT_MAPPING.check_field("address_line", "")  # cleared: written back as NULL
