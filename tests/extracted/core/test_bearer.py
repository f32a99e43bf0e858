"""Bearer tokens on the modern faces: SMART scopes admit machine clients, fail closed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from tests.extracted.appointments.modern_data import seeded  # noqa: F401

pytestmark = [
    pytest.mark.django_db(databases=["default", "appointments"]),
    pytest.mark.usefixtures("seeded"),
]


def bearer(scope: str, *, expires_in: int = 600, token: str = "machine-token-1") -> dict[str, str]:
    application = Application.objects.create(
        name=f"client for {scope}",
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
    )
    AccessToken.objects.create(
        application=application,
        token=token,
        scope=scope,
        expires=timezone.now() + timedelta(seconds=expires_in),
    )
    return {"Authorization": f"Bearer {token}"}


def test_a_reader_token_reads_both_faces(client):
    headers = bearer("user/Appointment.read")
    assert client.get("/v2/appointments", headers=headers).status_code == 200
    assert client.get("/fhir/Appointment", headers=headers).status_code == 200


def test_a_reader_token_may_not_write(client):
    response = client.post(
        "/v2/appointments/1/cancel", headers=bearer("user/Appointment.read"), data={}
    )
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    challenge = response["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="system/Appointment.write"' in challenge


def test_a_token_for_another_resource_type_is_refused_on_fhir(client):
    response = client.get("/fhir/Appointment", headers=bearer("system/Patient.read"))
    assert response.status_code == 403
    assert response.json()["resourceType"] == "OperationOutcome"


def test_no_token_opens_the_access_audit(client):
    # The audit list names no resource type: no scope, however wide, admits a token there.
    response = client.get("/v2/appointments/access-audit", headers=bearer("system/*.*"))
    assert response.status_code == 403


@pytest.mark.parametrize("face", ["/v2/appointments", "/fhir/Appointment"])
def test_an_expired_token_is_a_401_invalid_token(client, face):
    response = client.get(face, headers=bearer("system/*.read", expires_in=-5))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer realm="ficus", error="invalid_token"')


def test_the_outsider_without_a_token_still_hears_of_the_identity_header(client):
    response = client.get("/v2/appointments")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Ficus-Identity"
