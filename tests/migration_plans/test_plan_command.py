"""`manage.py plan check` as people and CI run it: a real subprocess, exit code and output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.domain.test_plans import GOOD

ROOT = Path(__file__).resolve().parents[2]


def plan(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "plan", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=60,
    )


def test_it_prints_one_line_per_valid_plan_and_exits_zero(tmp_path):
    (tmp_path / "appointments.yaml").write_text(GOOD)
    result = plan("check", "--plans", str(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        "appointments: 1 route, upstream appointments (http://127.0.0.1:8101)"
    )
    assert lines[-1] == f"1 plan(s) OK in {tmp_path}"


def test_it_shows_environment_overrides(tmp_path):
    (tmp_path / "appointments.yaml").write_text(GOOD)
    result = plan(
        "check",
        "--plans",
        str(tmp_path),
        env={"FICUS_UPSTREAM_APPOINTMENTS": "http://127.0.0.1:18101"},
    )
    assert result.returncode == 0, result.stderr
    assert "(http://127.0.0.1:18101 from FICUS_UPSTREAM_APPOINTMENTS)" in result.stdout


def test_it_prints_each_error_located_and_exits_non_zero(tmp_path):
    path = tmp_path / "appointments.yaml"
    path.write_text(GOOD.replace("{id:int}", "{id:integer}").replace("phase: migrated", "phase: x"))
    result = plan("check", "--plans", str(tmp_path))
    assert result.returncode != 0
    assert (
        f"{path}:10: routes[0].path: '{{id:integer}}' has an unknown parameter type 'integer' "
        "(use int or str)"
    ) in result.stderr.splitlines()
    assert f"{path}:11: routes[0].phase: 'x' is not a phase" in result.stderr
    assert "2 errors in plan files" in result.stderr
    assert result.stdout == ""


def test_the_shipped_plans_pass():
    result = plan("check")
    assert result.returncode == 0, result.stderr
    assert "appointments: 5 routes" in result.stdout
    assert "migration_plans/plans/appointments.yaml" in result.stdout


def test_help_lists_every_action():
    result = plan("--help")
    assert result.returncode == 0
    for action in ("check", "advance", "rollback", "status", "history"):
        assert action in result.stdout
