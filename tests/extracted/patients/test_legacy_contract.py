"""The same requests against the legacy app and the patients service give the same answers.

Both sides start from the same seeded legacy database: the legacy app serves it directly, the
service serves its own database filled from it by the real mapping and sink. Each case asks
both (legacy: session cookie; service: the identity header the proxy would derive from that
session) and compares status, body bytes and the contract headers. Writes are compared too:
each side writes its own database, and a read afterwards must agree apart from UPD_TS (the
plan's volatile field: each side stamps its own clock).
"""

from __future__ import annotations

import json

import pytest

from demo.legacy.db import execute, write_transaction
from extracted.patients.services import apply_legacy_patients
from legacy_adapter.mapping.patients import patient_from_legacy
from tests.extracted.patients.conftest import as_json, ask_legacy, ask_service, legacy_rows

pytestmark = pytest.mark.django_db(databases=["default", "patients"])

CHANGE = {"PHONE": "(312) 555-0142", "ADDR1": "12 elm st", "CITY": "Oakton", "ST": "il",
          "ZIP": "60601"}  # fmt: skip

READS = [
    ("GET", "/api/patients?q=ma", "clinician"),
    ("GET", "/api/patients?q=MAL,%20k", "scheduler"),
    ("GET", "/api/patients?q=%20car%20,%20", "billing"),
    ("GET", "/api/patients?q=M0000007", "admin"),
    ("GET", "/api/patients?q=m0000012", "clinician"),
    ("GET", "/api/patients?q=M9999999", "clinician"),
    ("GET", "/api/patients?q=zzzz", "clinician"),
    ("GET", "/api/patients?q=%25%25", "clinician"),  # LIKE wildcards match themselves
    ("GET", "/api/patients?q=%2Ck", "clinician"),  # empty LAST, FIRST prefix K
    ("GET", "/api/patients?q=a", "clinician"),  # 306 SEARCH TOO SHORT
    ("GET", "/api/patients?q=%20%20b%20", "clinician"),
    ("GET", "/api/patients?q=ma&q=zzzz", "clinician"),  # the first q, as legacy reads it
    ("GET", "/api/patients?q=zzzz&q=ma", "clinician"),
    ("GET", "/api/patients", "clinician"),
    ("GET", "/api/patients?q=ma", "auditor"),
    ("GET", "/api/patients?q=ma", "operator"),
    ("GET", "/api/patients?q=ma", None),
    ("POST", "/api/patients", "clinician"),
    ("GET", "/api/patients/1", "clinician"),
    ("GET", "/api/patients/7", "billing"),
    ("GET", "/api/patients/0012", "scheduler"),
    ("GET", "/api/patients/999999", "clinician"),  # 202 PATIENT NOT FOUND
    ("GET", "/api/patients/" + "9" * 30, "clinician"),
    ("GET", "/api/patients/abc", "clinician"),  # 100 NO SUCH SERVICE
    ("GET", "/api/patients/1/", "clinician"),
    ("GET", "/api/patients/1", "auditor"),
    ("GET", "/api/patients/1", None),
    ("DELETE", "/api/patients/1", "clinician"),
    ("PATCH", "/api/patients/1", None),
]


@pytest.mark.parametrize(("method", "path", "persona"), READS, ids=lambda v: str(v)[:28])
def test_reads_answer_like_the_legacy_app(legacy_app, client, method, path, persona):
    legacy = ask_legacy(legacy_app, method, path, persona)
    service = ask_service(client, method, path, persona)

    assert service == legacy


def test_the_search_cases_find_something(legacy_app, client):
    # Guards the cases above against comparing two empty answers.
    for query in ("ma", "MAL,%20k", "%2Ck", "M0000007"):
        status, body, _ = ask_service(client, "GET", f"/api/patients?q={query}", "clinician")
        assert status == 200
        assert json.loads(body)["COUNT"] > 0, query


def test_both_stop_at_50_hits_in_the_same_order(legacy_app, legacy_engine, client):
    with write_transaction(legacy_engine) as conn:
        for n in range(60):
            execute(
                conn,
                "INSERT INTO PATIENT_MASTER (PAT_ID, MRN, LAST_NM, FIRST_NM, DOB, SEX_CD, UPD_TS)"
                " VALUES (:id, :mrn, 'CAPTEST', :first, '19700101', 'U', '20260101000000')",
                {"id": 9000 + n, "mrn": f"M{9000 + n:07d}", "first": f"P{(n * 37) % 60:02d}"},
            )
    new_rows = [r for r in legacy_rows(legacy_engine) if r["PAT_ID"] >= 9000]
    apply_legacy_patients(records=[patient_from_legacy(r) for r in new_rows])

    legacy = ask_legacy(legacy_app, "GET", "/api/patients?q=captest", "clinician")
    service = ask_service(client, "GET", "/api/patients?q=captest", "clinician")

    assert service == legacy
    assert json.loads(service[1])["COUNT"] == 50


WRITES = [
    ("/api/patients/3", "clinician", as_json(CHANGE)),
    ("/api/patients/3", "admin", as_json({**CHANGE, "PHONE": "", "LAST_NM": "smith-jones"})),
    ("/api/patients/3", "scheduler", as_json({**CHANGE, "FIRST_NM": " ana "})),
    ("/api/patients/3", "clinician", as_json({**CHANGE, "ZIP": None})),
    ("/api/patients/3", "clinician", as_json({k: v for k, v in CHANGE.items() if k != "ST"})),
    ("/api/patients/3", "clinician", as_json({**CHANGE, "PHONE": "312-555-0142"})),
    ("/api/patients/3", "clinician", as_json({**CHANGE, "ZIP": 60601})),
    ("/api/patients/3", "clinician", as_json({**CHANGE, "ST": "ILL", "ZIP": "1"})),
    ("/api/patients/3", "clinician", as_json({**CHANGE, "LAST_NM": "DOE, JR"})),
    ("/api/patients/3", "clinician", as_json({**CHANGE, "CITY": "  "})),
    ("/api/patients/3", "clinician", b"[1, 2]"),
    ("/api/patients/3", "clinician", b"{not json"),
    ("/api/patients/3", "clinician", b"\xff\xfe"),
    ("/api/patients/999999", "clinician", as_json(CHANGE)),
    ("/api/patients/999999", "clinician", b"junk"),
    ("/api/patients/3", "billing", as_json(CHANGE)),
    ("/api/patients/3", "auditor", as_json(CHANGE)),
    ("/api/patients/3", None, as_json(CHANGE)),
]


@pytest.mark.parametrize(("path", "persona", "body"), WRITES, ids=lambda v: str(v)[:28])
def test_updates_answer_like_the_legacy_app_and_leave_the_same_record(
    legacy_app, client, path, persona, body
):
    legacy = ask_legacy(legacy_app, "PUT", path, persona, body)
    service = ask_service(client, "PUT", path, persona, body)

    assert service == legacy
    after_legacy = ask_legacy(legacy_app, "GET", "/api/patients/3", "clinician")
    after_service = ask_service(client, "GET", "/api/patients/3", "clinician")
    volatile = "UPD_TS"
    legacy_body = {k: v for k, v in json.loads(after_legacy[1]).items() if k != volatile}
    service_body = {k: v for k, v in json.loads(after_service[1]).items() if k != volatile}
    assert service_body == legacy_body
