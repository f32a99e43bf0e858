"""GET /api/appointments/{id} on the appointments service answers exactly as the legacy app.

Personas: the clinician (and every other clinical role) reads; the auditor and the operator
are refused with 403; the outsider (no header, a header signed with another key, an expired
one) gets 401. Bodies are compared as bytes, because the contract is byte for byte.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from extracted.appointments.models import Appointment
from tests.extracted.identities import KEY, OTHER_KEY, headers_for

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])

EXPECTED_BODY = (
    b'{"APPT_ID": 1, "PAT_ID": 17, "PAT_NM": "DOE, JANE", "PROV_ID": 3, "APPT_DT": "20261121",'
    b' "APPT_TM": "0930", "DUR_MIN": 15, "STATUS_CD": "B", "REASON_TXT": "FOLLOW UP",'
    b' "UPD_TS": "20261120083000"}'
)


@pytest.fixture(autouse=True)
def service(settings):
    settings.FICUS_IDENTITY_KEY = KEY
    settings.FICUS_HOSPITAL_TZ = "America/Chicago"
    Appointment.objects.create(
        id=1,
        patient_id=17,
        patient_display_name="DOE, JANE",
        provider_id=3,
        starts_at=datetime(2026, 11, 21, 15, 30, tzinfo=UTC),  # 09:30 in Chicago
        duration_minutes=15,
        status=Appointment.Status.BOOKED,
        reason="FOLLOW UP",
        source_updated_at=datetime(2026, 11, 20, 8, 30, tzinfo=UTC),
    )


def assert_legacy_json(response, status: int, body: bytes) -> None:
    assert response.status_code == status
    assert response.content == body
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"


def test_the_clinician_gets_the_appointment_in_the_exact_legacy_shape(client):
    response = client.get("/api/appointments/1", headers=headers_for("clinician"))

    assert_legacy_json(response, 200, EXPECTED_BODY)
    assert list(json.loads(response.content)) == [
        "APPT_ID", "PAT_ID", "PAT_NM", "PROV_ID", "APPT_DT", "APPT_TM", "DUR_MIN", "STATUS_CD",
        "REASON_TXT", "UPD_TS",
    ]  # fmt: skip


@pytest.mark.parametrize("persona", ["scheduler", "billing", "admin"])
def test_every_clinical_role_reads_it_too(client, persona):
    response = client.get("/api/appointments/1", headers=headers_for(persona))

    assert_legacy_json(response, 200, EXPECTED_BODY)


@pytest.mark.parametrize("persona", ["auditor", "operator"])
def test_the_auditor_and_the_operator_are_denied(client, persona):
    response = client.get("/api/appointments/1", headers=headers_for(persona))

    assert_legacy_json(response, 403, b'{"ERR": "ACCESS DENIED", "CODE": 102}')


@pytest.mark.parametrize(
    "headers",
    [
        {},
        headers_for("clinician", key=OTHER_KEY),  # forged: signed with another key
        headers_for("clinician", expires_in=-1),  # expired
        {"X-Ficus-Identity": "v1.e30.AAAA"},  # garbage
        {"Cookie": "SESSID=a-legacy-session"},  # the service never reads the legacy cookie
    ],
    ids=["no-header", "forged", "expired", "garbage", "cookie-only"],
)
def test_the_outsider_is_not_logged_in(client, headers):
    response = client.get("/api/appointments/1", headers=headers)

    assert_legacy_json(response, 401, b'{"ERR": "NOT LOGGED IN", "CODE": 101}')


def test_without_a_usable_key_even_a_valid_looking_header_is_refused(client, settings):
    header = headers_for("clinician")
    settings.FICUS_IDENTITY_KEY = ""
    assert client.get("/api/appointments/1", headers=header).status_code == 401
    settings.FICUS_IDENTITY_KEY = "short"
    assert client.get("/api/appointments/1", headers=header).status_code == 401


def test_refusals_are_logged_with_the_reason_but_never_the_token(client, caplog):
    header = headers_for("clinician", expires_in=-1)

    client.get("/api/appointments/1", headers=header)

    assert "identity has expired" in caplog.text
    assert "/api/appointments/<legacy_id:appointment_id>" in caplog.text
    sent = client.last_sent["HTTP_X_FICUS_IDENTITY"]
    assert sent not in caplog.text
    assert sent.split(".")[2] not in caplog.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/appointments/2",
        "/api/appointments/99999999999",  # past 32 bits: cannot exist
        "/api/appointments/0",
        "/api/appointments/" + "9" * 5000,  # too long for int(): capped, as legacy does
    ],
)
def test_an_unknown_id_is_appointment_not_found(client, path):
    response = client.get(path, headers=headers_for("clinician"))

    assert_legacy_json(response, 404, b'{"ERR": "APPOINTMENT NOT FOUND", "CODE": 201}')


def test_leading_zeros_name_the_same_appointment_as_in_legacy(client):
    response = client.get("/api/appointments/0001", headers=headers_for("clinician"))

    assert_legacy_json(response, 200, EXPECTED_BODY)


@pytest.mark.parametrize(
    "path", ["/api/appointments/abc", "/api/appointments/-1", "/api/appointments/1/",
             "/api/appointments/1.0", "/api/nothing", "/api"],
)  # fmt: skip
def test_a_non_numeric_id_or_unknown_api_path_is_no_such_service(client, path):
    # Answered before any identity check, as the legacy dispatcher does.
    response = client.get(path)

    assert_legacy_json(response, 404, b'{"ERR": "NO SUCH SERVICE", "CODE": 100}')


@pytest.mark.parametrize("method", ["post", "delete", "patch", "options"])
def test_other_methods_are_not_allowed_with_the_legacy_allow_header(client, method):
    response = getattr(client, method)("/api/appointments/1")  # no identity: 405 comes first

    assert_legacy_json(response, 405, b'{"ERR": "METHOD NOT ALLOWED", "CODE": 103}')
    assert response["Allow"] == "GET, PUT"


def test_head_is_answered_like_get(client):
    response = client.head("/api/appointments/1", headers=headers_for("clinician"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
