"""`manage.py plan autopilot`: one tick, the worker, the kill switch and the lock from the CLI."""

from __future__ import annotations

import io
import signal
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from migration_plans.models import AuditRecord, RouteState
from tests.migration_plans.control import record_stats
from tests.migration_plans.manage_process import ROOT, control_env, migrate
from tests.migration_plans.test_plan_control_commands import PLAN

pytestmark = pytest.mark.django_db(databases=["default"])
PILOT_PLAN = PLAN + "autopilot: {steps: [10], dwell_seconds: 0, min_samples: 100}\n"


@pytest.fixture
def plans(tmp_path):
    (tmp_path / "appointments.yaml").write_text(PILOT_PLAN)
    return str(tmp_path)


def plan(plans, *args):
    out = io.StringIO()
    call_command("plan", *args, "--plans", plans, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_one_tick_prints_the_decision(plans):
    assert plan(plans, "autopilot", "appointments") == (
        "appointments: hold: the routes are in legacy: a person moves them to shadow first\n"
    )
    plan(plans, "advance", "appointments", "--reason", "start shadow", "--actor", "olga")
    record_stats(side="shadow", requests=150)
    out = plan(plans, "autopilot", "appointments", "--once")
    assert out.startswith("appointments: advance: shadow -> canary 10%: 150 samples")
    assert RouteState.objects.get(method="GET").weight == 10


def test_people_need_a_reason_for_the_kill_switch_and_the_lock(plans):
    with pytest.raises(CommandError, match="--stop needs --reason"):
        plan(plans, "autopilot", "appointments", "--stop")
    out = plan(
        plans, "autopilot", "appointments", "--stop", "--reason", "freeze", "--actor", "olga"
    )
    assert "autopilot stopped" in out
    assert "stopped: the kill switch is on" in plan(plans, "autopilot", "appointments")
    assert "stopped: True" in plan(plans, "autopilot", "appointments", "--status")
    with pytest.raises(CommandError, match="not locked"):
        plan(plans, "autopilot", "appointments", "--clear-lock", "--reason", "r", "--actor", "olga")
    assert AuditRecord.objects.get(action="autopilot.stop").actor == "olga"


def test_a_plan_without_the_section_is_refused_by_name(tmp_path):
    (tmp_path / "appointments.yaml").write_text(PLAN)
    with pytest.raises(CommandError, match="has no autopilot: section"):
        plan(str(tmp_path), "autopilot", "appointments")


def test_the_options_are_explained():
    out = subprocess.run(
        [sys.executable, "manage.py", "plan", "autopilot", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for option in ("--once", "--worker", "--stop", "--resume", "--clear-lock", "--status"):
        assert option in out


def test_the_worker_exits_cleanly_on_sigterm(tmp_path):
    (tmp_path / "appointments.yaml").write_text(PILOT_PLAN)
    env = control_env(f"sqlite:///{tmp_path / 'control.sqlite3'}", tmp_path / "var", tmp_path)
    env["PYTHONUNBUFFERED"] = "1"  # each decision line as it is printed
    migrate(env)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "plan", "autopilot", "appointments", "--worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    try:
        first = worker.stdout.readline()  # the first tick has run: the worker is waiting
        assert first.startswith("appointments: hold:")
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert "autopilot worker ended (stopped)" in out
