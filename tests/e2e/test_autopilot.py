"""Issue 14's end-to-end proof: the autopilot, deployed as a worker, moves appointments by itself.

A correct service goes from shadow through canary 10 % and 50 % to migrated; a service that
formats one field differently in a few records is caught by the diff gate in shadow, rolled
back to legacy and locked, and the records name the field; a slow service is held in shadow,
never promoted. Each test has its own stack (real processes on loopback) with the plans of
`tests/e2e/autopilot_support.py`, a clinician reading appointments through the proxy, and
asserts on what the control plane recorded: phases, audit records, the autopilot's state.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from demo.launcher import MANAGE, REPO_ROOT, Stack
from legacy_adapter.schema import ApptSched
from tests.e2e.autopilot_support import (
    READ_ROUTE,
    SlowUpstream,
    Traffic,
    autopilot_plans,
    eventually,
)
from tests.e2e.conftest import stack_ports, started_stack
from tests.support.ports import free_port

pytestmark = pytest.mark.e2e

FEATURE = "appointments"


def _operator(stack: Stack, *args: str) -> str:
    result = stack.manage(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _appointments_with_a_reason(stack: Stack, count: int) -> list[int]:
    engine = create_engine(stack.config.legacy_database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(ApptSched.APPT_ID)
                .where(ApptSched.REASON_TXT != "")
                .order_by(ApptSched.APPT_ID)
                .limit(count)
            ).all()
    finally:
        engine.dispose()
    assert len(rows) == count
    return [row[0] for row in rows]


def _day_lists(stack: Stack, ids: list[int], count: int = 10) -> list[str]:
    """The day lists (`GET /api/appointments?prov=&date=`) of the first `count` appointments."""
    engine = create_engine(stack.config.legacy_database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(ApptSched.PROV_ID, ApptSched.APPT_DT)
                .where(ApptSched.APPT_ID.in_(ids[:count]))
                .distinct()
            ).all()
    finally:
        engine.dispose()
    return [f"/api/appointments?prov={prov}&date={day}" for prov, day in rows]


def _autopilot_state(stack: Stack) -> dict[str, str]:
    lines = _operator(stack, "plan", "autopilot", FEATURE, "--status").splitlines()
    return dict(line.split(": ", 1) for line in lines if ": " in line)


def _phases(stack: Stack) -> set[str]:
    """The phases of the feature's routes, from `plan status` (feature, method, path, phase)."""
    rows = _operator(stack, "plan", "status", FEATURE).splitlines()[1:]
    return {row.split()[3] for row in rows}


def _autopilot_records(stack: Stack) -> list[str]:
    history = _operator(stack, "plan", "history", FEATURE).splitlines()
    # One line per route and record: the read route's lines are the feature's moves.
    return [line for line in history if " autopilot " in line and f"{READ_ROUTE} " in line]


@pytest.fixture
def worker(request: pytest.FixtureRequest) -> Iterator[list[subprocess.Popen[str]]]:
    """`plan autopilot appointments --worker` as deployed; stopped with SIGTERM if left running."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.communicate(timeout=15)  # reaps it and closes its pipe


def _start_worker(stack: Stack, started: list[subprocess.Popen[str]]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, MANAGE, "plan", "autopilot", FEATURE, "--worker"],
        cwd=REPO_ROOT,
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started.append(process)
    return process


def _assert_audit_chain_holds(stack: Stack) -> None:
    verified = stack.manage("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_correct_service_goes_from_shadow_to_migrated_by_itself(
    tmp_path: Path, worker: list[subprocess.Popen[str]]
) -> None:
    plans = autopilot_plans(tmp_path / "plans")
    with started_stack(tmp_path / "var", extra_env={"FICUS_PLANS_DIR": str(plans)}) as stack:
        ids = _appointments_with_a_reason(stack, 200)
        with Traffic(stack.config.proxy_url, ids, _day_lists(stack, ids)).running() as traffic:
            process = _start_worker(stack, worker)
            output, _ = process.communicate(timeout=60)
        assert process.returncode == 0, output
        assert "autopilot worker ended (done)" in output
        moves = _autopilot_records(stack)
        assert [" ".join(m.split()[8:11]) for m in moves] == [
            "shadow -> canary",
            "canary -> canary",
            "canary -> migrated",
        ], moves
        assert all(" advance " in m for m in moves)
        assert _phases(stack) == {"migrated"}
        assert _autopilot_state(stack)["locked"] == "False"
        # The clinician never saw the cutover.
        assert set(traffic.statuses) == {200}, traffic.statuses
        _assert_audit_chain_holds(stack)


def test_a_field_formatted_differently_is_caught_in_shadow_and_rolled_back(
    tmp_path: Path, worker: list[subprocess.Popen[str]]
) -> None:
    plans = autopilot_plans(tmp_path / "plans")
    with started_stack(tmp_path / "var", extra_env={"FICUS_PLANS_DIR": str(plans)}) as stack:
        ids = _appointments_with_a_reason(stack, 100)
        # The planted bug: the service's copy of 8 appointments has its reason in lower case
        # (legacy keeps FOLLOW UP, the service answers follow up). Written straight into the
        # service's database, so no sync carries it back to legacy.
        service_db = stack.config.var_dir.resolve() / "appointments.sqlite3"
        with sqlite3.connect(service_db) as db:
            changed = db.execute(
                "UPDATE appointments_appointment SET reason = lower(reason) "
                f"WHERE id IN ({','.join('?' * 8)})",
                ids[:8],
            ).rowcount
        assert changed == 8
        with Traffic(stack.config.proxy_url, ids, _day_lists(stack, ids)).running() as traffic:
            _start_worker(stack, worker)
            state = eventually("the autopilot rolls back", lambda: _locked(stack))
        assert "max_diff_rate" in state["lock_reason"]
        assert "body.REASON_TXT" in state["lock_reason"]
        assert _phases(stack) == {"legacy"}
        moves = _autopilot_records(stack)
        assert len(moves) == 1, moves
        assert "rollback" in moves[0]
        assert "shadow -> legacy" in moves[0]
        assert "body.REASON_TXT" in moves[0]
        assert set(traffic.statuses) == {200}, traffic.statuses
        _assert_audit_chain_holds(stack)


def _locked(stack: Stack) -> dict[str, str] | None:
    state = _autopilot_state(stack)
    return state if state["locked"] == "True" else None


def test_a_slow_service_is_held_in_shadow_not_promoted(
    tmp_path: Path, worker: list[subprocess.Popen[str]]
) -> None:
    plans = autopilot_plans(tmp_path / "plans", max_p99_ratio=100)
    ports = stack_ports()
    late = SlowUpstream(free_port(), ports.service(FEATURE), delay=6.0)
    upstream = {"FICUS_PLANS_DIR": str(plans), "FICUS_UPSTREAM_APPOINTMENTS": late.url}
    with late.serving(), started_stack(tmp_path / "var", extra_env=upstream, ports=ports) as stack:
        ids = _appointments_with_a_reason(stack, 100)
        with Traffic(stack.config.proxy_url, ids, _day_lists(stack, ids)).running() as traffic:
            process = _start_worker(stack, worker)
            state = eventually("the autopilot holds on latency", lambda: _held_on_p99(stack))
            _operator(stack, "plan", "autopilot", FEATURE, "--stop", "--reason", "e2e: done")
            output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output
        assert "not promoted from shadow" in state["last_reason"]
        assert state["locked"] == "False"  # a slow service is not a broken one
        assert _phases(stack) == {"shadow"}
        assert _autopilot_records(stack) == []  # no move, only holds
        assert set(traffic.statuses) == {200}, traffic.statuses
        _assert_audit_chain_holds(stack)


def _held_on_p99(stack: Stack) -> dict[str, str] | None:
    state = _autopilot_state(stack)
    reason = state.get("last_reason", "")
    return state if state.get("last_decision") == "hold" and "max_p99_ratio" in reason else None
