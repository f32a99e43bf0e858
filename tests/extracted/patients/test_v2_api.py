"""/v2/patients: pagination, filters, validation errors that name the field, PATCH."""

from __future__ import annotations

from datetime import date

import pytest
from drf_spectacular.generators import SchemaGenerator

from extracted.patients.models import Outbox, Patient
from tests.extracted.identities import headers_for
from tests.extracted.patients.conftest import add_service_patient

pytestmark = pytest.mark.django_db(databases=["default", "patients"])

CLIN = headers_for("clinician")


@pytest.fixture(autouse=True)
def patients():
    for n in range(1, 8):
        add_service_patient(n, family_name="DOE" if n % 2 else "ROE", given_name=f"P{n}",
                            birth_date=date(1980, 1, n))  # fmt: skip


def test_it_pages_with_count_and_relative_links(client):
    first = client.get("/v2/patients?page_size=3", headers=CLIN)
    last = client.get("/v2/patients?page_size=3&page=3", headers=CLIN)

    assert first.status_code == 200
    assert first["Cache-Control"] == "no-store"
    body = first.json()
    assert body["count"] == 7
    assert [p["id"] for p in body["results"]] == [1, 3, 5]  # DOE first, by given name
    assert body["next"] == "/v2/patients?page=2&page_size=3"
    assert [p["id"] for p in last.json()["results"]] == [6]
    assert set(body["results"][0]) == {
        "id",
        "mrn",
        "family_name",
        "given_name",
        "birth_date",
        "sex",
    }  # fmt: skip  (no encrypted field in a list)


@pytest.mark.parametrize(
    ("query", "ids"),
    [("family=ro", [2, 4, 6]), ("mrn=m0000005", [5]), ("birth_date=1980-01-04", [4]),
     ("family=doe&birth_date=1980-01-04", [])],
)  # fmt: skip
def test_it_filters(client, query, ids):
    body = client.get(f"/v2/patients?{query}", headers=CLIN).json()

    assert [p["id"] for p in body["results"]] == ids


@pytest.mark.parametrize(
    ("query", "field"),
    [("birth_date=1980-13-01", "birth_date"), ("mrn=123", "mrn"), ("page=0", "page"),
     ("page_size=500", "page_size"), ("page=9", "page")],
)  # fmt: skip
def test_a_bad_filter_is_a_problem_naming_the_field(client, query, field):
    response = client.get(f"/v2/patients?{query}", headers=CLIN)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_a_page_past_the_last_says_so_by_its_code(client):
    [error] = client.get("/v2/patients?page=9", headers=CLIN).json()["errors"]
    [malformed] = client.get("/v2/patients?page=0", headers=CLIN).json()["errors"]

    assert (error["code"], malformed["code"]) == ("no_such_page", "invalid")


def test_an_unknown_id_is_404(client):
    assert client.get("/v2/patients/999", headers=CLIN).status_code == 404


def test_patch_changes_demographics_and_writes_the_outbox(client):
    response = client.patch(
        "/v2/patients/3", data={"city": "springfield", "phone": ""},
        content_type="application/json", headers=CLIN,
    )  # fmt: skip

    assert response.status_code == 200
    assert (response.json()["city"], response.json()["phone"]) == ("SPRINGFIELD", "")
    assert Patient.objects.get(pk=3).city == "SPRINGFIELD"
    assert list(Outbox.objects.values_list("aggregate", "key", "operation")) == [
        ("patient", "3", "upsert")
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"state": "ILL"}, "state"), ({"postal_code": "6060"}, "postal_code"),
     ({"phone": "555"}, "phone"), ({"family_name": "DOE, JR"}, "family_name"),
     ({"mrn": "M1"}, "mrn"), ({"ssn": "900-00-0000"}, "ssn"), ({}, None)],
)  # fmt: skip
def test_patch_validation_names_the_field_and_changes_nothing(client, body, field):
    response = client.patch("/v2/patients/3", data=body, content_type="application/json",
                            headers=CLIN)  # fmt: skip

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert Patient.objects.get(pk=3).city == "OAKTON"
    assert not Outbox.objects.exists()


def test_the_schema_documents_the_patient_endpoints(client):
    schema = SchemaGenerator().get_schema(request=None, public=True)

    assert {"/v2/patients", "/v2/patients/{patient_id}", "/v2/patients/access-audit"} <= set(
        schema["paths"]
    )
    assert "patch" in schema["paths"]["/v2/patients/{patient_id}"]
