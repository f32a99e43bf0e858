"""GET /fhir/Appointment/{id}: a valid FHIR R4 Appointment, OperationOutcome for every error.

Validated with fhir.resources' R4B models (in fhir.resources 8 the top-level package is R5;
R4B's Appointment is R4's, element for element).
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from fhir.resources.R4B.appointment import Appointment as FhirAppointment
from fhir.resources.R4B.operationoutcome import OperationOutcome

from extracted.appointments.models import AccessAudit
from tests.extracted.appointments.modern_data import CHICAGO, SEED, seeded  # noqa: F401
from tests.extracted.identities import OTHER_KEY, headers_for

pytestmark = [
    pytest.mark.django_db(databases=["default", "appointments"]),
    pytest.mark.usefixtures("seeded"),
]


def read(client, appointment_id, persona="clinician", **headers):
    return client.get(
        f"/fhir/Appointment/{appointment_id}", headers={**headers_for(persona), **headers}
    )


def resource(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/fhir+json"
    return FhirAppointment.model_validate_json(response.content)


def outcome(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"] == "application/fhir+json"
    parsed = OperationOutcome.model_validate_json(response.content)
    assert [issue.code for issue in parsed.issue] == [code]
    return parsed


def test_it_is_a_valid_r4_appointment_with_start_end_and_participants(client):
    appointment = resource(read(client, 1))

    assert appointment.id == "1"
    assert appointment.status == "booked"
    assert appointment.start == datetime(2026, 11, 21, 9, 30, tzinfo=CHICAGO)
    assert appointment.end == datetime(2026, 11, 21, 9, 45, tzinfo=CHICAGO)
    assert appointment.minutesDuration == 15
    assert [p.actor.reference for p in appointment.participant] == [
        "Patient/17",
        "Practitioner/3",
    ]
    assert appointment.participant[0].actor.display == "DOE, JANE"
    assert appointment.reasonCode[0].text == "FOLLOW UP"


@pytest.mark.parametrize(
    ("appointment_id", "status"),
    [(1, "booked"), (3, "cancelled"), (4, "noshow"), (2, "arrived")],
)
def test_each_status_maps_to_its_fhir_code(client, appointment_id, status):
    assert resource(read(client, appointment_id)).status == status


def test_an_empty_reason_is_left_out(client):
    body = json.loads(read(client, 2).content)

    assert SEED[2][6] == ""
    assert "reasonCode" not in body


def test_a_client_asking_for_plain_json_gets_the_same_resource_as_json(client):
    fhir = read(client, 1)
    plain = read(client, 1, Accept="application/json")

    assert plain["Content-Type"] == "application/json"
    assert json.loads(plain.content) == json.loads(fhir.content)


@pytest.mark.parametrize("fmt", ["json", "application/fhir%2Bjson", "application/fhir+json"])
def test_format_json_is_accepted(client, fmt):
    resource(client.get(f"/fhir/Appointment/1?_format={fmt}", headers=headers_for("clinician")))


def test_format_xml_is_refused_as_invalid(client):
    response = client.get("/fhir/Appointment/1?_format=xml", headers=headers_for("clinician"))

    assert outcome(response, 400, "invalid").issue[0].expression == ["_format"]


@pytest.mark.parametrize("appointment_id", ["9", "0", "9" * 5000])
def test_an_unknown_id_is_a_not_found_outcome(client, appointment_id):
    parsed = outcome(read(client, appointment_id), 404, "not-found")

    assert "is not known" in parsed.issue[0].diagnostics


def test_the_outsider_gets_a_login_outcome(client):
    response = client.get("/fhir/Appointment/1")

    outcome(response, 401, "login")
    assert response["WWW-Authenticate"] == "Ficus-Identity"


def test_a_forged_identity_gets_a_login_outcome(client):
    response = client.get("/fhir/Appointment/1", headers=headers_for("clinician", key=OTHER_KEY))

    outcome(response, 401, "login")


@pytest.mark.parametrize("persona", ["auditor", "operator"])
def test_roles_without_clinical_access_get_a_forbidden_outcome(client, persona):
    response = read(client, 1, persona=persona)

    outcome(response, 403, "forbidden")
    assert b"DOE" not in response.content


def test_a_read_is_audited(client):
    read(client, 4, persona="billing")

    row = AccessAudit.objects.get()
    assert (row.login, row.action, row.record_type, row.record_id) == (
        "billing",
        "read",
        "appointment",
        "4",
    )
