"""Finding 5: every value the patients service accepts is one legacy's columns can hold.

The faces' own rules (35 characters for LAST_NM, checked before upper-casing, as the legacy app
checks them) let through text that grows when upper-cased ("ß" → "SS", "ﬃ" → "FFI") and text no
server can store (NUL on PostgreSQL, a lone surrogate anywhere). Each was accepted with 200 and
then dead-lettered in reverse sync, leaving the two sides apart for good. Now the write itself
is checked against the mapping reverse sync uses, and the property below drives arbitrary text
through both write faces and, for every write accepted, the real reverse applier into a legacy
database on each backend (SQLite here; PostgreSQL and MariaDB in CI): no dead letter, and the
legacy row holds exactly what the service answered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from extracted.patients.models import Outbox, Patient
from extracted.patients.services import apply_legacy_patients
from legacy_adapter.features import feature_sync
from legacy_adapter.mapping.patients import patient_from_legacy
from legacy_adapter.reverse_apply import ReverseApplier
from legacy_adapter.schema import PatientMaster
from tests.extracted.identities import headers_for
from tests.legacy_adapter.sync_helpers import legacy_engine as sync_legacy_engine

pytestmark = pytest.mark.django_db(databases=["default", "patients"])

CLINICIAN = headers_for("clinician")
VALID = {"PHONE": "", "ADDR1": "12 ELM ST", "CITY": "OAKTON", "ST": "IL", "ZIP": "60601"}
# Characters that grow when upper-cased, that servers refuse, and ordinary and astral text.
TRICKY = st.sampled_from(["ß", "ﬃ", "ŉ", "ǰ", "\x00", "\ud800", "\udfff", "é", "😀", ",", " "])
# Mostly letters (so that many writes are accepted and go on to legacy), some of anything.
LETTERS = st.characters(categories=["Lu", "Ll", "Lt", "Lo", "Nd"])
TEXT = st.lists(st.one_of(TRICKY, LETTERS, LETTERS, st.characters()), max_size=40).map("".join)
LEGACY_FIELDS = {"LAST_NM": "family_name", "FIRST_NM": "given_name", "ADDR1": "address_line",
                 "CITY": "city"}  # fmt: skip


@pytest.fixture
def backend(legacy_database_url: str) -> Iterator[Engine]:
    """A legacy database on the backend with capture and patient 1, and the service's copy."""
    engine = sync_legacy_engine(legacy_database_url)
    with engine.connect() as conn:
        row = conn.execute(select(PatientMaster).where(PatientMaster.PAT_ID == 1)).mappings().one()
    apply_legacy_patients(records=[patient_from_legacy(dict(row))])
    feature_sync("patients").target.ensure_tables()
    yield engine
    engine.dispose()


def _write(client, face: str, field: str, value: str) -> tuple[int, dict[str, Any]]:
    if face == "legacy":
        body = json.dumps({**VALID, field: value})
        response = client.put("/api/patients/1", data=body, content_type="application/json",
                              headers=CLINICIAN)  # fmt: skip
    else:
        body = json.dumps({LEGACY_FIELDS[field]: value})
        response = client.patch("/v2/patients/1", data=body, content_type="application/json",
                                headers=CLINICIAN)  # fmt: skip
    return response.status_code, response.json()


def _legacy_row(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        found = conn.execute(select(PatientMaster).where(PatientMaster.PAT_ID == 1))
        return dict(found.mappings().one())


def check_every_accepted_write_reaches_legacy(client, engine: Engine, face, field, value) -> None:
    status, answer = _write(client, face, field, value)
    event(f"{face} write answered {status}")
    if status != 200:
        # Refused, in the face's own format, and nothing queued for legacy.
        assert status == 400
        if face == "legacy":
            assert answer["CODE"] in (301, 304), answer
            assert answer["ERR"].endswith(field), answer
        else:
            assert {e["field"] for e in answer["errors"]} == {LEGACY_FIELDS[field]}, answer
        assert not Outbox.objects.filter(processed_at__isnull=True).exists()
        return
    report = ReverseApplier(engine, feature_sync("patients").target).drain()
    assert report.claimed >= 1
    errors = list(Outbox.objects.exclude(last_error="").values_list("last_error", flat=True))
    assert errors == []  # nothing dead-lettered
    stored = Patient.objects.get(pk=1)
    assert _legacy_row(engine)[field] == getattr(stored, LEGACY_FIELDS[field])


FACES = st.sampled_from(["legacy", "v2"])
FIELDS = st.sampled_from(sorted(LEGACY_FIELDS))
ONE_RUN = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


@ONE_RUN
@given(face=FACES, field=FIELDS, value=TEXT)
def test_every_accepted_write_reaches_legacy(client, backend, face, field, value):
    check_every_accepted_write_reaches_legacy(client, backend, face, field, value)


@pytest.mark.databases
@ONE_RUN
@given(face=FACES, field=FIELDS, value=TEXT)
def test_every_accepted_write_reaches_legacy_on_the_servers(client, backend, face, field, value):
    check_every_accepted_write_reaches_legacy(client, backend, face, field, value)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("ß" * 20, "40 characters upper-cased"),
        ("DOE\x00", "NUL"),
        ("DO\ud800E", "a lone surrogate"),
    ],
)
def test_the_reported_values_are_refused_on_both_faces(client, backend, value, why):
    status, answer = _write(client, "legacy", "LAST_NM", value)
    assert (status, answer) == (400, {"ERR": "INVALID VALUE LAST_NM", "CODE": 304}), why
    status, answer = _write(client, "v2", "LAST_NM", value)
    assert status == 400, why
    assert answer["errors"][0]["field"] == "family_name", why
    assert Patient.objects.get(pk=1).family_name == "DOE"
    assert not Outbox.objects.exists()


def test_a_long_name_that_fits_after_upper_casing_is_accepted_and_reaches_legacy(client, backend):
    status, _ = _write(client, "legacy", "LAST_NM", "ß" * 17)  # 34 characters upper-cased
    assert status == 200
    ReverseApplier(backend, feature_sync("patients").target).drain()
    assert _legacy_row(backend)["LAST_NM"] == "SS" * 17
