"""Finding 11: repair puts each record's owner's state on the other side and reports only what
it changed; it never deletes or overwrites a write still on its way; and run beside a working
worker it races nothing into false dead letters (SQLite has one writer)."""

from __future__ import annotations

import time

import pytest

from tests.support.sync_stack import SyncStack, eventually

pytestmark = pytest.mark.e2e


def running(stack: SyncStack, appointments: int = 10) -> SyncStack:
    stack.prepare(appointments=appointments)
    stack.start_service("appointments")
    stack.start_worker()
    stack.wait_ready()  # repair asks whether a worker runs: its report must be there
    stack.wait_drained()
    return stack


def test_repair_fixes_a_copy_that_carries_a_newer_version_than_its_owner(backend_stack):
    stack = backend_stack
    running(stack)
    # Someone edits the service's database behind sync's back, with a version from the future.
    stack.service_sql(
        "appointments",
        "UPDATE appointments_appointment SET reason = 'EDITED BY HAND', "
        "sync_version = sync_version + 86400000000 WHERE id = 4",
    )

    out = stack.reconcile("appointments", "--repair")

    assert "different keys: 4" in out
    assert "repaired 1 key(s), each to its owner's state (1 owned by legacy" in out
    assert stack.service_row("appointments", 4)["reason"] == "FOLLOW UP"
    assert "drift rows: 0" in stack.reconcile("appointments")


def test_repair_leaves_writes_still_on_their_way_alone(backend_stack):
    stack = backend_stack
    running(stack)
    stack.advance("appointments", "shadow", "canary", "migrated", weight=1)
    stack.wait_drained()
    # A worker that polls seldom, stopped while it sleeps: a SIGSTOP inside one of its SQLite
    # transactions would hold the legacy database's lock, and the service's writes would fail
    # on it (a stall this test is not about). Its report stays fresh for the repair below.
    stack.start_worker("--interval", "8")
    stack.wait_ready()
    time.sleep(0.5)
    with stack.worker_paused():  # the service's writes wait in its outbox
        assert stack.cancel(5).status == 200
        booking = {"PAT_ID": 1, "PROV_ID": 3, "APPT_DT": "20261230", "APPT_TM": "1000",
                   "DUR_MIN": 15, "REASON_TXT": "NEW"}  # fmt: skip
        booked = stack.ask("appointments", "POST", "/api/appointments", booking)
        assert booked.status == 200
        new_id = booked.json()["APPT_ID"]

        out = stack.reconcile("appointments", "--repair")

        assert f"in flight: 5, {new_id}" in out
        assert "repaired 0 key(s)" in out
        assert f"left to sync: 5, {new_id}" in out
        assert stack.find_service_row("appointments", new_id) is not None  # not deleted
        assert stack.service_row("appointments", 5)["status"] == "cancelled"  # not reverted

    eventually(
        "legacy has both service writes",
        lambda: (
            stack.legacy_appointment(5)["STATUS_CD"] == "C"
            and stack.legacy_appointment(new_id) != {}
        ),
    )
    stack.wait_drained()
    assert stack.drift() == 0


def test_repair_beside_a_running_worker_makes_no_false_dead_letters(stack):
    running(stack, appointments=40)
    for key in range(1, 41, 2):  # half the copies edited behind sync's back
        stack.service_sql(
            "appointments",
            "UPDATE appointments_appointment SET reason = 'STALE' WHERE id = :k",
            k=key,
        )
    for key in range(2, 41, 4):  # while legacy keeps writing
        stack.legacy_edit(key, REASON_TXT="LEGACY EDIT")

    out = stack.reconcile("appointments", "--repair")

    assert "applied by the running worker" in out
    stack.wait_drained()
    assert stack.dead_letters() == []
    assert stack.drift() == 0
    assert stack.legacy_sql("SELECT COUNT(*) FROM APPT_SCHED WHERE REASON_TXT = 'STALE'")[0][0] == 0
