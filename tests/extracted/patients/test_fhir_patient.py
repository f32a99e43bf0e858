"""FHIR R4 Patient read and search, validated with the `fhir.resources` models."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.bundle import Bundle
from fhir.resources.patient import Patient as FhirPatient

from tests.extracted.identities import headers_for
from tests.extracted.patients.conftest import add_service_patient

pytestmark = pytest.mark.django_db(databases=["default", "patients"])

CLIN = headers_for("clinician")


@pytest.fixture(autouse=True)
def patients():
    add_service_patient(17)
    add_service_patient(18, family_name="DOERING", given_name="MAX", sex="male", ssn=None,
                        phone="", address_line="", city="", state="", postal_code="")  # fmt: skip
    add_service_patient(19, family_name="ROE")


def test_read_is_a_valid_fhir_patient_without_the_ssn(client):
    response = client.get("/fhir/Patient/17", headers=CLIN)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/fhir+json"
    patient: Any = FhirPatient.model_validate_json(response.content)
    assert patient.id == "17"
    assert patient.identifier[0].value == "M0000017"
    assert (patient.name[0].family, patient.name[0].given) == ("DOE", ["JANE"])
    assert (patient.gender, str(patient.birthDate)) == ("female", "1980-02-29")
    assert patient.telecom[0].value == "(312) 555-0142"
    assert patient.address[0].postalCode == "60601"
    assert b"5678" not in response.content


def test_a_patient_without_contact_details_is_still_valid(client):
    response = client.get("/fhir/Patient/18", headers=CLIN)

    patient = FhirPatient.model_validate_json(response.content)
    assert (patient.telecom, patient.address, patient.gender) == (None, None, "male")


@pytest.mark.parametrize(
    ("query", "ids"),
    [("family=doe", ["17", "18"]), ("identifier=M0000019", ["19"]),
     ("identifier=urn:ficus:legacy:mrn|M0000018", ["18"]), ("family=nobody", [])],
)  # fmt: skip
def test_search_returns_a_valid_searchset_bundle(client, query, ids):
    response = client.get(f"/fhir/Patient?{query}", headers=CLIN)

    assert response.status_code == 200
    bundle: Any = Bundle.model_validate_json(response.content)
    assert bundle.type == "searchset"
    assert bundle.total == len(ids)
    assert [entry.resource.id for entry in bundle.entry or []] == ids


def test_search_pages_with_count_and_offset(client):
    body = client.get("/fhir/Patient?family=doe&_count=1", headers=CLIN).json()

    assert body["total"] == 2
    assert len(body["entry"]) == 1
    assert "next" in [link["relation"] for link in body["link"]]


@pytest.mark.parametrize(
    ("query", "expression"),
    [("pateint=1", "pateint"), ("identifier=http://other|M1", "identifier"),
     ("birthdate=1980-02-30", "birthdate"), ("_count=0", "_count")],
)  # fmt: skip
def test_bad_search_parameters_are_an_operation_outcome_naming_them(client, query, expression):
    response = client.get(f"/fhir/Patient?{query}", headers=CLIN)

    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
    assert response.json()["issue"][0]["expression"] == [expression]


def test_an_unknown_patient_is_a_404_operation_outcome(client):
    response = client.get("/fhir/Patient/999", headers=CLIN)

    assert response.status_code == 404
    assert response.json()["issue"][0]["code"] == "not-found"
