"""/control/v1/features/F/autopilot: operators read and stop it, auditors read, others refused."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from migration_plans.models import AuditRecord, AutopilotState
from tests.migration_plans.test_api import client_for
from tests.migration_plans.test_plan_control_commands import PLAN

pytestmark = pytest.mark.django_db(databases=["default"])
PILOT = "/control/v1/features/appointments/autopilot"


@pytest.fixture(autouse=True)
def plans(tmp_path, settings):
    (tmp_path / "appointments.yaml").write_text(PLAN + "autopilot: {steps: [10]}\n")
    settings.FICUS_PLANS_DIR = tmp_path


def test_an_operator_sees_the_state_and_pulls_the_kill_switch():
    operator = client_for("olga", "operator")
    before = operator.get(PILOT).json()
    assert (before["configured"], before["stopped"], before["locked"]) == (True, False, False)
    answer = operator.post(f"{PILOT}/stop", {"reason": "incident 7"}, format="json")
    assert answer.status_code == 200
    assert answer.json()["stopped"] is True
    assert "stopped" in answer.json()["message"]
    record = AuditRecord.objects.get(action="autopilot.stop")
    assert (record.actor, record.subject) == ("olga", "appointments")
    assert operator.post(f"{PILOT}/stop", {}, format="json").status_code == 400  # no reason


def test_an_auditor_reads_the_state_and_cannot_stop_it():
    auditor = client_for("ana", "auditor")
    assert auditor.get(PILOT).json()["stopped"] is False
    answer = auditor.post(f"{PILOT}/stop", {"reason": "r"}, format="json")
    assert answer.status_code == 403
    assert not AutopilotState.objects.filter(stopped=True).exists()


@pytest.mark.parametrize("persona", ["nobody", "clinician"])
def test_outsiders_are_refused(persona):
    if persona == "nobody":
        client = APIClient()
    else:
        client = client_for("dr-casey", "auditor")
        User.objects.get(username="dr-casey").groups.clear()
    expected = 401 if persona == "nobody" else 403
    assert client.get(PILOT).status_code == expected
    assert client.post(f"{PILOT}/stop", {"reason": "r"}, format="json").status_code == expected
    assert not AuditRecord.objects.filter(action="autopilot.stop").exists()


def test_an_unknown_feature_is_404():
    operator = client_for("olga", "operator")
    assert operator.get("/control/v1/features/billing/autopilot").status_code == 404
