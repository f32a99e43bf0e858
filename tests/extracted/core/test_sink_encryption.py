"""The patients sink writes PHI fields through the field itself: tokens at rest, never plaintext.

The sink bypasses `Model.save()` for speed, so this reads the raw columns with SQL, past the
model, after an insert and after an update, and then reads them back through the model.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connections

from extracted.patients import crypto
from extracted.patients.models import Patient
from extracted.patients.services import apply_legacy_patients
from tests.extracted.core.sink_records import PHI_KEY, V2, patient

pytestmark = pytest.mark.django_db(databases=["default", "patients"])


@pytest.fixture(autouse=True)
def phi_key(settings):
    settings.FICUS_PHI_KEY = PHI_KEY


def raw(pat_id: int) -> tuple[Any, ...]:
    with connections["patients"].cursor() as cursor:
        cursor.execute(
            f"SELECT ssn, phone, address_line FROM {Patient._meta.db_table} WHERE id = %s",
            [pat_id],
        )
        return tuple(cursor.fetchone())


def test_it_stores_tokens_on_insert():
    apply_legacy_patients(records=[patient(17)])

    ssn, phone, address = raw(17)

    assert "5678" not in ssn
    assert "555" not in phone
    assert "ELM" not in address
    assert crypto.decrypt(ssn, what="ssn") == "912-34-5678"
    assert crypto.decrypt(address, what="address_line") == "12 ELM ST"


def test_it_stores_tokens_on_update_and_reads_back_the_new_values():
    apply_legacy_patients(records=[patient(17)])
    newer = patient(17, phone="(312) 555-0199", ssn=None, source_updated_at=V2)

    apply_legacy_patients(records=[newer])

    ssn, phone, _address = raw(17)
    assert ssn is None  # NULL stays NULL: "no SSN on file" is visible without a key
    assert "0199" not in phone
    assert crypto.decrypt(phone, what="phone") == "(312) 555-0199"
    assert Patient.objects.get(pk=17).phone == "(312) 555-0199"


def test_a_replay_compares_plaintext_and_writes_nothing():
    apply_legacy_patients(records=[patient(17)])
    before = raw(17)

    result = apply_legacy_patients(records=[patient(17)])

    assert result.unchanged == 1
    assert raw(17) == before  # tokens are randomized: any write would have changed them
