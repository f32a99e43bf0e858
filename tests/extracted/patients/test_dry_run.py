"""A PUT with the proxy's signed dry-run header answers for real and changes nothing."""

from __future__ import annotations

import json

import pytest

from extracted.patients.models import AccessAudit, Outbox, Patient
from tests.extracted.identities import KEY, OTHER_KEY, dry_run_header, headers_for
from tests.extracted.patients.conftest import add_service_patient

# transaction=True: the rollback under test must be the middleware's, not the test case's.
# Every service alias is listed because the middleware opens a transaction on each.
pytestmark = pytest.mark.django_db(
    databases=["default", "appointments", "patients"], transaction=True
)

BODY = {"PHONE": "(312) 555-0199", "ADDR1": "1 OAK AVE", "CITY": "ELSEWHERE", "ST": "IL",
        "ZIP": "60601"}  # fmt: skip


def dry_run_headers(*, key: str = KEY, rid: str = "rid-dry") -> dict[str, str]:
    return {**headers_for("clinician", request_id="rid-dry"), **dry_run_header(rid, key=key)}


@pytest.fixture(autouse=True)
def patient():
    return add_service_patient(17)


def state():
    patient = Patient.objects.get(pk=17)
    return (patient.city, patient.phone, patient.source_updated_at, Outbox.objects.count(),
            AccessAudit.objects.count())  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("PUT", "/api/patients/17", BODY), ("PATCH", "/v2/patients/17", {"city": "ELSEWHERE"})],
)
def test_the_write_answers_for_real_and_is_rolled_back(client, method, path, body):
    before = state()

    response = client.generic(
        method, path, data=json.dumps(body), content_type="application/json",
        headers=dry_run_headers(),
    )  # fmt: skip

    assert response.status_code == 200
    assert state() == before


def test_the_same_write_without_the_header_does_change_things(client):
    before = state()

    response = client.put("/api/patients/17", data=BODY, content_type="application/json",
                          headers=headers_for("clinician"))  # fmt: skip

    assert response.status_code == 200
    assert state() != before


@pytest.mark.parametrize(
    "headers",
    [dry_run_headers(key=OTHER_KEY), dry_run_headers(rid="another-request")],
    ids=["forged", "other-rid"],
)
def test_a_forged_or_mismatched_dry_run_header_is_refused(client, headers):
    before = state()

    response = client.put("/api/patients/17", data=BODY, content_type="application/json",
                          headers=headers)  # fmt: skip

    assert (response.status_code, response.content) == (
        403, b'{"ERR": "ACCESS DENIED", "CODE": 102}',
    )  # fmt: skip
    assert state() == before
