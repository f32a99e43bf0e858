"""Who sees what: per-role permissions of the patients service, on every face.

- clinical roles read; only CLIN, SCHED and ADMIN update (the billing clerk reads, never edits);
- the full SSN only for ADMIN and only on /v2; masked for everyone else and on the legacy face;
- the auditor has no clinical access (legacy 403, /v2 403) but queries the access audit;
- the outsider (no header, forged header) gets 401 everywhere.
"""

from __future__ import annotations

import json

import pytest

from tests.extracted.identities import OTHER_KEY, headers_for
from tests.extracted.patients.conftest import add_service_patient

pytestmark = pytest.mark.django_db(databases=["default", "patients"])


@pytest.fixture(autouse=True)
def patient():
    return add_service_patient()


def test_admin_sees_the_full_ssn_on_v2(client):
    body = client.get("/v2/patients/17", headers=headers_for("admin")).json()

    assert body["ssn"] == "912-34-5678"


@pytest.mark.parametrize("persona", ["clinician", "scheduler", "billing"])
def test_other_clinical_roles_see_it_masked_on_v2(client, persona):
    body = client.get("/v2/patients/17", headers=headers_for(persona)).json()

    assert body["ssn"] == "XXX-XX-5678"
    assert body["phone"] == "(312) 555-0142"


def test_even_admin_sees_it_masked_on_the_legacy_face(client):
    body = json.loads(client.get("/api/patients/17", headers=headers_for("admin")).content)

    assert body["SSN"] == "XXX-XX-5678"


def test_billing_may_not_update_demographics_on_either_face(client):
    legacy = client.put(
        "/api/patients/17",
        data={"PHONE": "", "ADDR1": "X", "CITY": "Y", "ST": "IL", "ZIP": "60601"},
        content_type="application/json",
        headers=headers_for("billing"),
    )
    modern = client.patch(
        "/v2/patients/17", data={"city": "Y"}, content_type="application/json",
        headers=headers_for("billing"),
    )  # fmt: skip

    assert (legacy.status_code, legacy.content) == (403, b'{"ERR": "ACCESS DENIED", "CODE": 102}')
    assert modern.status_code == 403
    assert client.get("/v2/patients/17", headers=headers_for("admin")).json()["city"] == "OAKTON"


@pytest.mark.parametrize(
    "path", ["/api/patients/17", "/api/patients?q=doe", "/v2/patients/17", "/v2/patients",
             "/fhir/Patient/17"],
)  # fmt: skip
@pytest.mark.parametrize("persona", ["auditor", "operator"])
def test_the_auditor_and_operator_get_no_clinical_access(client, path, persona):
    assert client.get(path, headers=headers_for(persona)).status_code == 403


def test_the_auditor_queries_the_access_audit_and_clinicians_may_not(client):
    client.get("/api/patients/17", headers=headers_for("clinician", request_id="rid-42"))

    audit = client.get("/v2/patients/access-audit", headers=headers_for("auditor"))
    refused = client.get("/v2/patients/access-audit", headers=headers_for("clinician"))

    assert audit.status_code == 200
    rows = [
        (r["login"], r["action"], r["record_id"], r["request_id"]) for r in audit.json()["results"]
    ]
    assert rows == [("clinician", "read", "17", "rid-42")]
    assert refused.status_code == 403


@pytest.mark.parametrize(
    "path", ["/api/patients/17", "/v2/patients/17", "/fhir/Patient/17",
             "/v2/patients/access-audit"],
)  # fmt: skip
@pytest.mark.parametrize("forged", [False, True])
def test_the_outsider_is_refused_with_401(client, path, forged):
    headers = headers_for("admin", key=OTHER_KEY) if forged else {}

    assert client.get(path, headers=headers).status_code == 401
