"""GET /v2/appointments/{id}: one appointment, a problem 404 for an unknown id, roles, audit."""

from __future__ import annotations

import json

import pytest

from extracted.appointments.models import AccessAudit
from tests.extracted.appointments.modern_data import seeded  # noqa: F401
from tests.extracted.identities import OTHER_KEY, headers_for

pytestmark = [
    pytest.mark.django_db(databases=["default", "appointments"]),
    pytest.mark.usefixtures("seeded"),
]


def test_the_clinician_gets_the_appointment(client):
    response = client.get("/v2/appointments/1", headers=headers_for("clinician"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert json.loads(response.content) == {
        "id": 1,
        "patient_id": 17,
        "patient_display_name": "DOE, JANE",
        "provider_id": 3,
        "starts_at": "2026-11-21T09:30:00-06:00",
        "ends_at": "2026-11-21T09:45:00-06:00",
        "duration_minutes": 15,
        "status": "booked",
        "reason": "FOLLOW UP",
        "updated_at": "2026-11-20T02:30:00-06:00",
    }


def test_times_follow_the_hospital_time_zone_setting(client, settings):
    settings.FICUS_HOSPITAL_TZ = "UTC"

    body = json.loads(client.get("/v2/appointments/1", headers=headers_for("clinician")).content)

    assert body["starts_at"] == "2026-11-21T15:30:00Z"


@pytest.mark.parametrize("appointment_id", ["9", "0", "99999999999", "9" * 5000])
def test_an_unknown_id_is_a_problem_404(client, appointment_id):
    response = client.get(f"/v2/appointments/{appointment_id}", headers=headers_for("clinician"))

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content)["detail"] == "No appointment has this id."


def test_reading_is_audited(client):
    client.get("/v2/appointments/3", headers=headers_for("scheduler", request_id="rid-v2-one"))

    row = AccessAudit.objects.get()
    assert (row.login, row.action, row.record_id, row.request_id) == (
        "scheduler",
        "read",
        "3",
        "rid-v2-one",
    )


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        (headers_for("clinician", key=OTHER_KEY), 401),
        (headers_for("auditor"), 403),
        (headers_for("operator"), 403),
    ],
    ids=["outsider", "forged", "auditor", "operator"],
)
def test_who_may_not_read_gets_no_appointment(client, headers, status):
    response = client.get("/v2/appointments/1", headers=headers)

    assert response.status_code == status
    assert b"DOE" not in response.content
    assert not AccessAudit.objects.exists()


def test_writes_are_not_offered_here(client):
    response = client.post(
        "/v2/appointments/1", {}, content_type="application/json", headers=headers_for("admin")
    )

    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
