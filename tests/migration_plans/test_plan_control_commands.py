"""`manage.py plan status|advance|rollback|history`: output, errors and exit codes."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.migration_plans.control import record_stats
from tests.migration_plans.manage_process import control_env, manage, migrate
from tests.migration_plans.plan_files import appointments_plan

pytestmark = pytest.mark.django_db(databases=["default"])
ONE = "/api/appointments/{id:int}"
PLAN = appointments_plan(
    """\
  - method: GET
    path: /api/appointments/{id:int}
  - method: PUT
    path: /api/appointments/{id:int}
""",
    """\
gates:
  canary: {min_samples: 100, max_error_rate: 0.01}
""",
)


@pytest.fixture
def plans(tmp_path):
    (tmp_path / "appointments.yaml").write_text(PLAN)
    return str(tmp_path)


def plan(plans, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("plan", *args, "--plans", plans, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_prints_a_status_table_of_every_route(plans):
    out, _ = plan(plans, "status")
    lines = out.splitlines()
    assert lines[0].split() == ["FEATURE", "ROUTE", "PHASE", "WEIGHT", "SINCE", "BY"]
    assert lines[1].split()[:5] == ["appointments", "GET", ONE, "legacy", "-"]
    assert lines[1].endswith("plan-file")
    assert len(lines) == 3


def test_it_advances_with_a_reason_and_shows_it_in_status_and_history(plans):
    out, _ = plan(plans, "advance", "appointments", "--reason", "diffs clean", "--actor", "olga")
    assert f"appointments: GET {ONE} legacy -> shadow" in out
    assert "recorded as audit record" in out
    status, _ = plan(plans, "status", "appointments")
    assert status.splitlines()[1].split()[3] == "shadow"
    assert status.splitlines()[1].endswith("olga")
    history, _ = plan(plans, "history", "appointments")
    rows = history.splitlines()[1:]
    assert [r.split()[8:11] for r in rows if "olga" in r] == [["legacy", "->", "shadow"]] * 2
    assert rows[-1].endswith("diffs clean")


def test_it_refuses_a_failing_advance_with_every_gate_and_exits_non_zero(plans):
    plan(plans, "advance", "appointments", "--reason", "r")
    record_stats(side="shadow", requests=20, errors=2)
    with pytest.raises(CommandError, match="2 of 2 gate\\(s\\) failed") as refused:
        call_command(
            "plan",
            "advance",
            "appointments",
            "--weight",
            "10",
            "--reason",
            "r",
            "--plans",
            plans,
            stderr=(err := io.StringIO()),
        )
    assert refused.value.returncode == 1
    table = err.getvalue().splitlines()
    assert table[0].split() == ["PHASE", "GATE", "THRESHOLD", "ACTUAL", "RESULT", "WHY"]
    assert table[1].split()[:5] == ["canary", "min_samples", "100", "20", "FAIL"]
    assert table[2].split()[:5] == ["canary", "max_error_rate", "0.01", "0.1", "FAIL"]


def test_it_forces_past_gates_and_says_so(plans):
    plan(plans, "advance", "appointments", "--reason", "r")
    out, _ = plan(
        plans, "advance", "appointments", "--weight", "10", "--force", "--reason", "incident 7"
    )
    assert f"GET {ONE} shadow -> canary (weight 10%)" in out
    assert "FORCED past failing gates" in out
    history, _ = plan(plans, "history", "appointments")
    assert "advance (forced)" in history


def test_it_rolls_back_one_route(plans):
    plan(plans, "advance", "appointments", "--reason", "r")
    out, _ = plan(
        plans, "rollback", "appointments", "--route", f"PUT {ONE}", "--reason", "writes differ"
    )
    assert out.splitlines() == [
        f"appointments: PUT {ONE} shadow -> legacy",
        out.splitlines()[-1],
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["advance", "billing", "--reason", "r"], "no plan for feature 'billing'"),
        (["advance", "appointments", "--to", "migrated", "--reason", "r"], "skips a phase"),
        (["advance", "appointments", "--route", "GET /x", "--reason", "r"], "is not a route"),
        (["rollback", "appointments", "--reason", "r"], "nothing to roll back"),
        (["history", "billing"], "no plan for feature 'billing'"),
    ],
)
def test_it_explains_bad_requests(plans, args, message):
    with pytest.raises(CommandError, match=message):
        plan(plans, *args)


def test_it_names_the_broken_plan_file(tmp_path):
    (tmp_path / "appointments.yaml").write_text(PLAN.replace("owner:", "ownr:"))
    with pytest.raises(CommandError, match=r"appointments\.yaml:2: ownr: unknown field"):
        plan(str(tmp_path), "status")


def test_it_exits_1_from_a_shell_with_the_gate_table(tmp_path, plans):
    env = control_env(f"sqlite:///{tmp_path / 'control.sqlite3'}", tmp_path, plans)
    migrate(env)
    assert manage(env, "plan", "advance", "appointments", "--reason", "r").returncode == 0
    refused = manage(env, "plan", "advance", "appointments", "--weight", "5", "--reason", "r")
    assert refused.returncode == 1
    assert "min_samples" in refused.stderr
    assert "FAIL" in refused.stderr
    assert "Traceback" not in refused.stderr  # a message, not a crash
