"""A machine client on the modern faces: OAuth2 client credentials, SMART scopes, one proxy.

The operator registers a client that may read patients (`patient/Patient.read`); it gets a
token from the control plane's /oauth2/token through the proxy, reads /v2 and FHIR with it,
and is refused a write (403 insufficient_scope) and appointments. A bad token is a 401 with
`error="invalid_token"` in each face's format, and a revoked client's token stops at once.
"""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from demo.launcher import MANAGE, REPO_ROOT, Stack

pytestmark = pytest.mark.e2e


def _controlplane(stack: Stack, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, MANAGE, "controlplane", "oauth-client", *args, "--actor", "operator"],
        cwd=REPO_ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def _registered(stack: Stack, name: str, *scopes: str) -> tuple[str, str]:
    argv = ["create", "--name", name]
    for scope in scopes:
        argv += ["--scope", scope]
    out = _controlplane(stack, *argv).splitlines()
    return out[0].rsplit(" ", 1)[-1], out[1].rsplit(" ", 1)[-1]


def _token(proxy: httpx.Client, client: tuple[str, str], scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    answer = proxy.post("/oauth2/token", data=data, auth=client)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer"
    return str(body["access_token"])


def test_a_reader_reads_patients_but_cannot_write_them(stack: Stack):
    client = _registered(stack, "chart-reader", "patient/Patient.read")
    with httpx.Client(base_url=stack.config.proxy_url, timeout=10) as proxy:
        token = _token(proxy, client)
        bearer = {"Authorization": f"Bearer {token}"}
        listed = proxy.get("/v2/patients", params={"page_size": 2}, headers=bearer)
        assert listed.status_code == 200, listed.text
        some = listed.json()["results"][0]["id"]
        fhir = proxy.get(f"/fhir/Patient/{some}", headers=bearer)
        assert fhir.status_code == 200
        assert fhir.json()["id"] == str(some)

        write = proxy.patch(f"/v2/patients/{some}", json={"phone": "555-0100"}, headers=bearer)
        assert write.status_code == 403
        assert write.headers["content-type"] == "application/problem+json"
        assert 'error="insufficient_scope"' in write.headers["www-authenticate"]
        assert "system/Patient.write" in write.headers["www-authenticate"]

        other = proxy.get("/fhir/Appointment", params={"patient": some}, headers=bearer)
        assert other.status_code == 403
        assert other.json()["resourceType"] == "OperationOutcome"


def test_a_client_cannot_ask_for_more_than_it_was_given(stack: Stack):
    client = _registered(stack, "greedy", "system/Appointment.read")
    with httpx.Client(base_url=stack.config.proxy_url, timeout=10) as proxy:
        answer = proxy.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials", "scope": "system/*.*"},
            auth=client,
        )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"


def test_a_bad_token_is_refused_in_each_faces_format(stack: Stack):
    bearer = {"Authorization": "Bearer not-a-token"}
    with httpx.Client(base_url=stack.config.proxy_url, timeout=10) as outsider:
        v2 = outsider.get("/v2/patients", headers=bearer)
        fhir = outsider.get("/fhir/Patient", headers=bearer)
    for answer in (v2, fhir):
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"].startswith("Bearer ")
        assert 'error="invalid_token"' in answer.headers["www-authenticate"]
    assert v2.headers["content-type"] == "application/problem+json"
    assert fhir.json()["resourceType"] == "OperationOutcome"


def test_a_revoked_clients_token_stops_working_at_once(stack: Stack):
    client = _registered(stack, "revoked-soon", "system/*.read")
    with httpx.Client(base_url=stack.config.proxy_url, timeout=10) as proxy:
        bearer = {"Authorization": f"Bearer {_token(proxy, client)}"}
        assert proxy.get("/fhir/Appointment", headers=bearer).status_code == 200
        assert "1 token(s)" in _controlplane(stack, "revoke", "--name", "revoked-soon")
        assert proxy.get("/fhir/Appointment", headers=bearer).status_code == 401
