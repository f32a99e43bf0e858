"""/v2 trusts the proxy's signed identity only: 401 without one, 403 for a role not admitted.

Personas: the clinician reads, the admin writes; billing and the auditor are refused (403)
where their role is not listed; the outsider (no header, forged, expired, garbage) gets 401
with `WWW-Authenticate` and a problem document that says why.
"""

from __future__ import annotations

import json

import pytest

from tests.extracted.identities import KEY, OTHER_KEY, headers_for

pytestmark = [pytest.mark.urls("tests.extracted.core.v2_views")]

BODY = {"date": "2026-11-21", "slots": [{"minutes": 15}]}


@pytest.fixture(autouse=True)
def identity_key(settings):
    settings.FICUS_IDENTITY_KEY = KEY


def problem(response, status):
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert response["Cache-Control"] == "no-store"
    body = json.loads(response.content)
    assert body["status"] == status
    return body


def test_it_admits_the_clinician_to_read(client):
    response = client.get("/v2/numbers", headers=headers_for("clinician"))

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_it_admits_the_admin_to_write_and_knows_who_wrote(client):
    response = client.post(
        "/v2/numbers", BODY, content_type="application/json", headers=headers_for("admin")
    )

    assert response.status_code == 201
    assert json.loads(response.content) == {"booked_by": "admin"}


@pytest.mark.parametrize("persona", ["billing", "auditor", "operator", "admin"])
def test_it_refuses_readers_whose_role_is_not_listed(client, persona):
    response = client.get("/v2/numbers", headers=headers_for(persona))

    assert problem(response, 403)["detail"] == "Your role may not use this endpoint."


def test_it_refuses_the_clinician_a_write_reserved_to_admins(client):
    response = client.post(
        "/v2/numbers", BODY, content_type="application/json", headers=headers_for("clinician")
    )

    problem(response, 403)


def test_a_view_that_lists_no_roles_admits_nobody(client):
    problem(client.get("/v2/no-roles", headers=headers_for("admin")), 403)


def test_the_outsider_without_a_header_is_not_authenticated(client):
    response = client.get("/v2/numbers")

    body = problem(response, 401)
    assert response["WWW-Authenticate"] == "Ficus-Identity"
    assert body["title"] == "Unauthorized"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (headers_for("clinician", key=OTHER_KEY), "identity signature does not match"),
        (headers_for("clinician", expires_in=-1), "identity has expired"),
        ({"X-Ficus-Identity": "v1.e30.AAAA"}, "identity signature does not match"),
        ({"X-Ficus-Identity": "not-a-token"}, "malformed identity header"),
    ],
    ids=["forged", "expired", "garbage", "malformed"],
)
def test_the_outsider_with_a_bad_header_is_told_why(client, headers, reason):
    response = client.get("/v2/numbers", headers=headers)

    assert problem(response, 401)["detail"] == f"Invalid identity: {reason}."
    assert response["WWW-Authenticate"] == "Ficus-Identity"


def test_a_legacy_session_cookie_alone_is_not_an_identity(client):
    problem(client.get("/v2/numbers", headers={"Cookie": "SESSID=a-legacy-session"}), 401)


@pytest.mark.parametrize("key", ["", "short"])
def test_without_a_usable_key_even_a_valid_header_is_refused(client, settings, key):
    header = headers_for("clinician")
    settings.FICUS_IDENTITY_KEY = key

    problem(client.get("/v2/numbers", headers=header), 401)


def test_refusals_are_logged_with_the_reason_but_never_the_token(client, caplog):
    header = headers_for("clinician", expires_in=-1)

    client.get("/v2/numbers", headers=header)

    assert "identity has expired" in caplog.text
    sent = client.last_sent["HTTP_X_FICUS_IDENTITY"]
    assert sent not in caplog.text
    assert sent.split(".")[2] not in caplog.text


def test_the_access_log_carries_the_request_id_of_a_verified_identity(client, caplog):
    client.get("/v2/numbers", headers=headers_for("billing", request_id="rid-h7-denied"))

    assert "GET /v2/numbers 403" in caplog.text
    assert "rid=rid-h7-denied" in caplog.text
