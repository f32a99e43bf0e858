"""SSN, phone and address line are encrypted at rest; the key comes from FICUS_PHI_KEY.

The raw column (read with SQL, past the model) holds a Fernet token, never the value; a wrong
key fails loudly instead of returning garbage; a missing key names the variable; rotation
(new key first, old key kept) reads old rows and re-encrypts them under the new key.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from extracted.patients import crypto
from extracted.patients.models import Patient

pytestmark = pytest.mark.django_db(databases=["default", "patients"])

SSN, PHONE, ADDRESS = "912-34-5678", "(312) 555-0142", "12 ELM ST"


def make_patient() -> Patient:
    return Patient.objects.create(
        id=17, mrn="M0000017", family_name="DOE", given_name="JANE",
        birth_date=date(1980, 2, 29), sex=Patient.Sex.FEMALE, ssn=SSN, phone=PHONE,
        address_line=ADDRESS, city="OAKTON", state="IL", postal_code="60601",
        source_updated_at=datetime(2026, 11, 20, 8, 30, tzinfo=UTC),
    )  # fmt: skip


def raw_row(pat_id: int = 17) -> dict[str, Any]:
    table = Patient._meta.db_table
    with connections["patients"].cursor() as cursor:
        cursor.execute(f"SELECT ssn, phone, address_line, mrn FROM {table} WHERE id = %s", [pat_id])
        ssn, phone, address, mrn = cursor.fetchone()
    return {"ssn": ssn, "phone": phone, "address_line": address, "mrn": mrn}


def test_the_raw_columns_hold_tokens_not_the_values():
    make_patient()

    raw = raw_row()

    for column, value in (("ssn", SSN), ("phone", PHONE), ("address_line", ADDRESS)):
        assert value not in raw[column]
        assert "5678" not in raw["ssn"]
        assert raw[column].startswith("gAAAAA")  # a Fernet token (version byte 0x80)
    assert raw["mrn"] == "M0000017"  # searchable, by design (see models.py)
    patient = Patient.objects.get(pk=17)
    assert (patient.ssn, patient.phone, patient.address_line) == (SSN, PHONE, ADDRESS)


def test_the_same_value_encrypts_differently_each_time():
    make_patient()
    first = raw_row()["ssn"]
    Patient.objects.get(pk=17).save()

    assert raw_row()["ssn"] != first


def test_a_null_ssn_stays_null_and_needs_no_key(settings):
    patient = make_patient()
    patient.ssn = None
    patient.save()

    assert raw_row()["ssn"] is None


def test_a_wrong_key_fails_loudly_naming_the_field_and_never_the_data(settings):
    make_patient()
    settings.FICUS_PHI_KEY = Fernet.generate_key().decode()

    with pytest.raises(crypto.PhiKeyError) as caught:
        Patient.objects.get(pk=17)

    assert "patients.Patient." in str(caught.value)
    assert "FICUS_PHI_KEY" in str(caught.value)
    assert SSN not in str(caught.value)


@pytest.mark.parametrize("value", ["", "  ,  "])
def test_a_missing_key_is_improperly_configured_naming_the_variable(settings, value):
    settings.FICUS_PHI_KEY = value

    with pytest.raises(ImproperlyConfigured, match="FICUS_PHI_KEY is not set"):
        make_patient()


def test_a_malformed_key_is_improperly_configured(settings):
    settings.FICUS_PHI_KEY = "not-a-fernet-key"

    with pytest.raises(ImproperlyConfigured, match="FICUS_PHI_KEY holds a key that is not"):
        make_patient()


def test_the_key_is_read_from_the_environment_when_settings_do_not_set_it(settings, monkeypatch):
    key = settings.FICUS_PHI_KEY
    del settings.FICUS_PHI_KEY
    monkeypatch.setenv("FICUS_PHI_KEY", key)
    make_patient()
    monkeypatch.delenv("FICUS_PHI_KEY")

    with pytest.raises(ImproperlyConfigured, match="FICUS_PHI_KEY"):
        Patient.objects.get(pk=17)


def test_rotation_reads_old_rows_and_writes_under_the_new_key(settings):
    old_key = settings.FICUS_PHI_KEY
    make_patient()
    new_key = Fernet.generate_key().decode()
    settings.FICUS_PHI_KEY = f"{new_key},{old_key}"

    patient = Patient.objects.get(pk=17)  # old tokens still open
    assert patient.ssn == SSN
    patient.save()  # re-encrypted under the first key

    settings.FICUS_PHI_KEY = new_key  # the old key is retired
    assert Patient.objects.get(pk=17).ssn == SSN
    assert Fernet(new_key.encode()).decrypt(raw_row()["ssn"].encode()).decode() == SSN
