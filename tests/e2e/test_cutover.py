"""A whole cutover through the real processes: an operator moves the appointments feature to
`migrated` and back while a clinician books, and the legacy billing report sees every booking.

This is issue 5's end-to-end proof and the README's walk-through, on its own stack because it
changes route phases that the other e2e tests rely on.
"""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select

from demo.launcher import Stack
from legacy_adapter.schema import ApptSched
from tests.e2e.clients import access_log, logged_in
from tests.e2e.conftest import started_stack

pytestmark = pytest.mark.e2e

BOOKING_DAY = "20261230"  # a Wednesday with no seeded appointments
LIST_TEMPLATE = "/api/appointments"


@pytest.fixture(scope="module")
def cutover(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with started_stack(tmp_path_factory.mktemp("cutover-var")) as running:
        yield running


def _eventually(what: str, check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting until {what}")


def _operator(stack: Stack, *args: str) -> str:
    result = stack.manage(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _served_by(stack: Stack, client: httpx.Client, upstream: str) -> bool:
    """Whether the proxy now sends the list read to `upstream` (hot reload has happened)."""
    before = len(access_log(stack))
    client.get(LIST_TEMPLATE, params={"prov": 1, "date": BOOKING_DAY})
    return any(
        e["route"] == LIST_TEMPLATE and e["upstream"] == upstream
        for e in access_log(stack)[before:]
    )


def _book(client: httpx.Client, time_hhmm: str) -> int:
    response = client.post(
        "/api/appointments",
        json={
            "PAT_ID": 1,
            "PROV_ID": 1,
            "APPT_DT": BOOKING_DAY,
            "APPT_TM": time_hhmm,
            "DUR_MIN": 15,
            "REASON_TXT": "FOLLOW UP",
        },
    )
    assert response.status_code == 200, response.text
    appointment_id = response.json()["APPT_ID"]
    assert isinstance(appointment_id, int)
    return appointment_id


def _in_legacy(stack: Stack, appointment_id: int) -> bool:
    engine = create_engine(stack.config.legacy_database_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                select(ApptSched.APPT_ID).where(ApptSched.APPT_ID == appointment_id)
            ).first()
    finally:
        engine.dispose()
    return row is not None


def test_an_operator_migrates_appointments_and_rolls_back_without_losing_a_booking(
    cutover: Stack,
) -> None:
    stack = cutover
    # legacy -> shadow: the gate (sync lag) passes on evidence from the running sync worker.
    _operator(stack, "plan", "advance", "appointments", "--reason", "shadow the booking routes")
    # shadow -> canary: too few samples yet, so the gate refuses and shows its numbers ...
    refused = stack.manage(
        "plan", "advance", "appointments", "--weight", "50", "--reason", "half the charts"
    )
    assert refused.returncode != 0
    assert "min_samples" in refused.stdout + refused.stderr
    # ... and the operator overrides it, which is recorded as forced.
    _operator(
        stack,
        "plan",
        "advance",
        "appointments",
        "--weight",
        "50",
        "--force",
        "--reason",
        "e2e: no traffic to sample",
    )
    _operator(
        stack,
        "plan",
        "advance",
        "appointments",
        "--force",
        "--reason",
        "e2e: cut over",
    )
    assert re.search(r"POST /api/appointments\s+migrated", _operator(stack, "plan", "status"))

    with logged_in(stack.config.proxy_url, "clinician") as clinician:
        _eventually(
            "the proxy routes the list to the service",
            lambda: _served_by(stack, clinician, "appointments"),
        )
        first = _book(clinician, "0900")
        booked = [e for e in access_log(stack) if e["method"] == "POST"][-1]
        assert (booked["route"], booked["upstream"]) == (LIST_TEMPLATE, "appointments")
        # Reverse sync carries the service's booking into the legacy database ...
        _eventually("the booking reaches legacy", lambda: _in_legacy(stack, first))

        # Data-aware rollback: while a booking has not reached legacy, rolling back is refused.
        stack.signal("sync", signal.SIGSTOP)
        try:
            second = _book(clinician, "1000")
            blocked = stack.manage(
                "plan", "rollback", "appointments", "--to", "legacy", "--reason", "back out"
            )
            assert blocked.returncode != 0
            assert "backlog" in (blocked.stdout + blocked.stderr).lower()
        finally:
            stack.signal("sync", signal.SIGCONT)
        _eventually("the second booking reaches legacy", lambda: _in_legacy(stack, second))
        _eventually(
            "the rollback is accepted once the backlog is empty",
            lambda: (
                stack.manage(
                    "plan", "rollback", "appointments", "--to", "legacy", "--reason", "back out"
                ).returncode
                == 0
            ),
        )
        _eventually(
            "the proxy routes the list to legacy again",
            lambda: _served_by(stack, clinician, "legacy"),
        )
        # Legacy, serving again, has both bookings.
        for appointment_id in (first, second):
            assert clinician.get(f"/api/appointments/{appointment_id}").status_code == 200

    # ... and the legacy billing report, which never moved, lists both.
    with logged_in(stack.config.proxy_url, "billing") as clerk:
        report = clerk.get("/billing", params={"from": BOOKING_DAY, "to": BOOKING_DAY})
    assert report.status_code == 200
    for appointment_id in (first, second):
        assert str(appointment_id) in report.text

    history = _operator(stack, "plan", "history", "appointments")
    assert "(forced)" in history
    assert "back out" in history
    assert _operator(stack, "audit", "verify")
