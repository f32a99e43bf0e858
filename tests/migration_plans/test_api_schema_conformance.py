"""The control plane answers as its OpenAPI schema says: schemathesis against a real process.

`manage.py runservice control` (gunicorn) on loopback, its database migrated, the shipped
plans, an operator's DRF token made with `manage.py controlplane token create`. Schemathesis
loads /control/v1/schema over HTTP and sends what it allows and what it forbids, every request
with the operator's token (who may read and change everything). Advances and rollbacks really
happen, on this test's own database.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.migration_plans.manage_process import ROOT, SHIPPED_PLANS, control_env, manage, migrate
from tests.support.openapi_fuzz import failures_of, load
from tests.support.ports import LOOPBACK, free_port, wait_for_port

pytestmark = [pytest.mark.fuzz, pytest.mark.e2e]


@pytest.fixture(scope="module")
def control(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    directory = tmp_path_factory.mktemp("control-schema")
    env = control_env(
        f"sqlite:///{directory / 'control.sqlite3'}", directory, SHIPPED_PLANS,
        FICUS_EVIDENCE_PROVIDERS="",
    )  # fmt: skip
    migrate(env)
    made = manage(env, "controlplane", "token", "create", "--user", "operator", "--role",
                  "operator", "--actor", "admin")  # fmt: skip
    assert made.returncode == 0, made.stderr
    token = made.stdout.split(": ", 1)[1].split()[0]
    port = free_port()
    log = (directory / "control.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "runservice", "control", "--port", str(port),
         "--workers", "1"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )  # fmt: skip
    try:
        wait_for_port(port, process=process, timeout=60)
        yield f"http://{LOOPBACK}:{port}", token
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_the_control_plane_answers_as_its_schema_says(control: tuple[str, str]) -> None:
    base, token = control
    schema = load(f"{base}/control/v1/schema")

    failures = failures_of(schema, headers={"Authorization": f"Token {token}"})

    assert not failures, "\n\n".join(failures)


def _refusal(base: str, token: str, target: str) -> tuple[int, str, object]:
    request = urllib.request.Request(base + target, headers={"Authorization": f"Token {token}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    error = refused.value
    return error.code, error.headers["Content-Type"], json.loads(error.read())


@pytest.mark.parametrize(
    "query", ["after=99999999999999999999999", "after=%D9%A1", "limit=0", "limit=501",
              "after=-1", "limit=1_0"],
)  # fmt: skip
def test_audit_paging_out_of_its_documented_range_is_a_400(
    control: tuple[str, str], query: str
) -> None:
    # A number past 64 bits reached the database (a 500 on SQLite); an Arabic-Indic digit is
    # a digit to int(), and limits out of range were silently clamped.
    base, token = control
    status, content_type, body = _refusal(base, token, f"/control/v1/audit/records?{query}")

    assert (status, content_type) == (400, "application/json")
    assert isinstance(body, dict)
    assert "must be a whole number" in str(body["reason"])


@pytest.mark.parametrize(
    "target", ["/control/v1/features/%C2%97", "/control/v1/nothing", "/control/v1/features/a/b"]
)
def test_an_unknown_control_path_is_refused_as_the_api_refuses(
    control: tuple[str, str], target: str
) -> None:
    # Found by schemathesis: a feature that is not a slug matched no URL, and Django's 404 was
    # plain text where every control-plane refusal is JSON `{"reason"}`.
    base, token = control

    assert _refusal(base, token, target) == (404, "application/json", {"reason": "not found"})


@pytest.mark.parametrize(
    ("target", "headers", "status", "reason"),
    [
        ("/control/v1/audit/records?after=" + "1" * 5000, {}, 414, "request-uri too long"),
        ("/control/v1/routes", {"X-Padding": "p" * 9000}, 431,
         "request header fields too large"),
    ],
)  # fmt: skip
def test_what_gunicorn_refuses_is_refused_as_the_api_refuses(
    control: tuple[str, str], target: str, headers: dict[str, str], status: int, reason: str
) -> None:
    # gunicorn refuses a request line over 4094 bytes, a header field over 8190, before Django
    # runs; it used to answer with its own HTML page (extracted/core/gunicorn_refusals.py).
    base, token = control
    request = urllib.request.Request(
        base + target, headers={"Authorization": f"Token {token}", **headers}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)

    error = refused.value
    assert (error.code, error.headers["Content-Type"]) == (status, "application/json")
    assert error.headers["Cache-Control"] == "no-store"
    assert error.headers["X-Content-Type-Options"] == "nosniff"
    assert json.loads(error.read()) == {"reason": reason}
    assert _refusal(base, token, "/control/v1/nothing")[0] == 404  # and it still answers
