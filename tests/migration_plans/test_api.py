"""The /control/v1/ API with its personas: operator changes, auditor reads, others are refused."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.test import APIClient

from migration_plans import tokens
from migration_plans.models import RouteState
from tests.migration_plans.test_plan_control_commands import PLAN

pytestmark = pytest.mark.django_db(databases=["default"])
ONE = "/api/appointments/{id:int}"
FEATURE = "/control/v1/features/appointments"


@pytest.fixture(autouse=True)
def plans(tmp_path, settings):
    (tmp_path / "appointments.yaml").write_text(PLAN)
    settings.FICUS_PLANS_DIR = tmp_path


def client_for(username=None, role=None, token=None):
    client = APIClient()
    if username:
        token = tokens.create_token(username=username, role=role, actor="admin-al")
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def operator():
    return client_for("olga", "operator")


@pytest.fixture
def auditor():
    return client_for("ana", "auditor")


@pytest.fixture
def clinician():
    """A user with a valid token but no control-plane role (e.g. a role removed later)."""
    client = client_for("dr-casey", "auditor")
    User.objects.get(username="dr-casey").groups.clear()
    return client


def test_it_lets_an_operator_advance_and_shows_the_change(operator):
    answer = operator.post(f"{FEATURE}/advance", {"reason": "diffs clean"}, format="json")
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert [c["to"] for c in body["changes"]] == ["shadow", "shadow"]
    assert body["generation"] >= 2
    routes = operator.get("/control/v1/routes").json()["routes"]
    assert {(r["route"], r["phase"], r["actor"]) for r in routes} == {
        (f"GET {ONE}", "shadow", "olga"),
        (f"PUT {ONE}", "shadow", "olga"),
    }
    history = operator.get(f"{FEATURE}/history").json()["transitions"]
    assert history[-1]["reason"] == "diffs clean"


def test_it_refuses_failing_gates_with_409_and_the_gate_table(operator):
    operator.post(f"{FEATURE}/advance", {"reason": "r"}, format="json")
    answer = operator.post(f"{FEATURE}/advance", {"reason": "r", "weight": 10}, format="json")
    assert answer.status_code == 409
    body = answer.json()
    assert "refused" in body["reason"]
    assert {g["gate"]: g["passed"] for g in body["gates"]} == {
        "min_samples": False,
        "max_error_rate": False,
    }
    assert body["evidence"]["samples"] == 0


def test_it_lets_an_auditor_read_everything_and_change_nothing(auditor):
    assert auditor.get("/control/v1/routes").status_code == 200
    detail = auditor.get(FEATURE).json()
    assert detail["gates"]["canary"] == {"min_samples": 100, "max_error_rate": 0.01}
    assert auditor.get(f"{FEATURE}/history").status_code == 200
    assert auditor.get("/control/v1/audit/verify").json()["ok"] is True
    assert auditor.get("/control/v1/audit/records").json()["records"][0]["seq"] == 1
    answer = auditor.post(f"{FEATURE}/rollback", {"reason": "r"}, format="json")
    assert answer.status_code == 403
    assert answer.json() == {"reason": "only an operator may change route state"}
    assert not RouteState.objects.exclude(phase="legacy").exists()


@pytest.mark.parametrize("persona", ["nobody", "bad-token", "clinician"])
def test_it_refuses_outsiders_with_a_json_reason(persona, request):
    client = {
        "nobody": lambda: APIClient(),
        "bad-token": lambda: client_for(token="0" * 40),
        "clinician": lambda: request.getfixturevalue("clinician"),
    }[persona]()
    for method, url in (("get", "/control/v1/routes"), ("post", f"{FEATURE}/advance")):
        answer = getattr(client, method)(url, {"reason": "r"}, format="json")
        expected = 403 if persona == "clinician" else 401
        assert answer.status_code == expected
        assert set(answer.json()) == {"reason"}
    assert not RouteState.objects.exclude(phase="legacy").exists()


def test_no_answer_of_the_control_plane_may_be_cached(operator, auditor):
    answers = [
        operator.get("/control/v1/routes"),
        auditor.get("/control/v1/audit/records"),
        auditor.post(f"{FEATURE}/rollback", {"reason": "r"}, format="json"),  # 403
        APIClient().get("/control/v1/routes"),  # 401
        operator.post(f"{FEATURE}/advance", {"to": "live"}, format="json"),  # 400
        operator.get("/control/v1/no-such-thing"),  # 404, Django's handler, outside any view
    ]
    assert [a["Cache-Control"] for a in answers] == ["no-store"] * len(answers)
    assert answers[-1].status_code == 404


def test_it_explains_bad_input(operator):
    answer = operator.post(f"{FEATURE}/advance", {"to": "live"}, format="json")
    assert answer.status_code == 400
    assert set(answer.json()["fields"]) == {"to", "reason"}
    assert operator.get("/control/v1/features/billing").status_code == 404
    skip = operator.post(f"{FEATURE}/advance", {"reason": "r", "to": "retired"}, format="json")
    assert skip.status_code == 409
    assert "skips a phase" in skip.json()["reason"]
    assert operator.get("/control/v1/audit/records?after=x").status_code == 400
    garbled = operator.post(f"{FEATURE}/advance", "{not json", content_type="application/json")
    assert garbled.status_code == 400
    assert "reason" in garbled.json()


def test_it_reports_a_broken_audit_chain(auditor, operator):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM ficus_audit_record WHERE seq = 1")
    body = auditor.get("/control/v1/audit/verify").json()
    assert body["ok"] is False
    assert body["broken"]["kind"] == "deleted"
