"""`manage.py plan evidence` and `/control/v1/features/F/evidence`: the same reading for
people, de-identified samples included; auditors and operators only."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from migration_plans.models import EvidenceSample
from tests.migration_plans.control import backdate, record_tally, tally_of
from tests.migration_plans.test_api import client_for
from tests.migration_plans.test_evidence import PLAN

pytestmark = pytest.mark.django_db(databases=["default"])
ONE = "/api/appointments/{id:int}"
URL = "/control/v1/features/appointments/evidence"


@pytest.fixture
def plans(tmp_path, settings):
    (tmp_path / "appointments.yaml").write_text(PLAN)
    settings.FICUS_PLANS_DIR = tmp_path
    call_command("plan", "status", "--plans", str(tmp_path), stdout=io.StringIO())
    backdate(60)
    record_tally(
        tally_of(
            100,
            [(["body.name"], 4), (["body.served_at"], 100)],
            noise_compared=100,
            noisy=[(["body.served_at"], 100)],
        )
    )
    EvidenceSample.objects.create(
        feature="appointments",
        method="GET",
        template=ONE,
        field="body.name",
        kind="real",
        legacy_value='"Name-3f2a9c01b7de"',
        other_value='"Name-0c1d2e3f4a5b"',
        recorded_at=timezone.now(),
    )
    return str(tmp_path)


def evidence(plans, *args):
    out = io.StringIO()
    call_command("plan", "evidence", "appointments", *args, "--plans", plans, stdout=out)
    return out.getvalue()


def test_it_prints_each_routes_rates_and_fields_with_verdicts_and_samples(plans):
    lines = evidence(plans).splitlines()
    assert lines[0].startswith(f"appointments: GET {ONE} (since ")
    assert lines[1].strip() == (
        "compared 100 exchanges (100 asked of legacy twice); "
        "differences: raw 100.00%, noise 96.00%, real 4.00%"
    )
    assert lines[2].split()[:3] == ["REAL", "body.name:", "4"]
    assert lines[3].strip() == 'real: legacy "Name-3f2a9c01b7de"  /  other "Name-0c1d2e3f4a5b"'
    assert lines[4].split()[:2] == ["NOISE", "body.served_at:"]


def test_one_route_can_be_asked_for_and_an_unknown_one_is_named(plans):
    assert evidence(plans, "--route", f"GET {ONE}").startswith("appointments: GET")
    with pytest.raises(CommandError, match="has no route 'GET /nope'"):
        evidence(plans, "--route", "GET /nope")


@pytest.mark.parametrize("role", ["auditor", "operator"])
def test_auditors_and_operators_read_the_same_numbers_in_the_api(plans, role):
    answer = client_for(f"{role}-1", role).get(URL)
    assert answer.status_code == 200, answer.json()
    (route,) = answer.json()["routes"]
    assert (route["route"], route["compared"], route["real_diff_rate"]) == (f"GET {ONE}", 100, 0.04)
    name, served = route["fields"]
    assert (name["field"], name["verdict"], served["verdict"]) == ("body.name", "real", "noise")
    assert name["samples"][0]["legacy"] == '"Name-3f2a9c01b7de"'


def test_anyone_else_is_refused(plans):
    assert client_for().get(URL).status_code == 401
    outsider = client_for("dr-casey", "auditor")
    User.objects.get(username="dr-casey").groups.clear()
    answer = outsider.get(URL)
    assert answer.status_code == 403
    assert "routes" not in answer.json()
