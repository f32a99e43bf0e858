"""Writes survive every move of ownership, with the worker running as deployed (never drained
by the test): a canary with writes, a flip to migrated, same-second conflicts, a rollback
right after a burst of service edits, and writes made straight into the legacy database."""

from __future__ import annotations

import pytest

from domain.ownership import Owner, feature_ownership
from domain.phases import Phase
from domain.plans import load_plans
from domain.route_table import RouteState
from tests.support.ownership import SHIPPED
from tests.support.sync_stack import SyncStack, eventually

pytestmark = pytest.mark.e2e
WRITES = (
    ("POST", "/api/appointments"),
    ("PUT", "/api/appointments/{id:int}"),
    ("POST", "/api/appointments/{id:int}/cancel"),
)


def canary_owner(weight: int):
    (plan,) = [p for p in load_plans(SHIPPED, environ={}) if p.feature == "appointments"]
    states = {route: RouteState(Phase.CANARY, weight) for route in WRITES}
    return feature_ownership(plan, states)


def running(stack: SyncStack, appointments: int = 30) -> SyncStack:
    stack.prepare(appointments=appointments)
    stack.start_service("appointments")
    stack.start_worker()
    return stack


def test_canary_writes_reach_legacy_while_the_canary_runs(backend_stack):
    stack = backend_stack
    """Finding 1: in a canary with writes, a cancel the service accepted must reach legacy
    (the legacy day list still shows legacy's rows), and the rollback's gate then passes."""
    running(stack)
    stack.advance("appointments", "shadow", "canary", weight=50)
    owners = canary_owner(50)
    mine = [k for k in range(1, 31) if owners.owner_of(k) is Owner.SERVICE]
    theirs = [k for k in range(1, 31) if owners.owner_of(k) is Owner.LEGACY]
    assert mine
    assert theirs

    for key in mine:
        assert stack.cancel(key).status == 200

    eventually(
        "legacy shows every cancel the service accepted",
        lambda: all(stack.legacy_appointment(k)["STATUS_CD"] == "C" for k in mine),
    )
    refused = stack.cancel(theirs[0])  # legacy owns it: the service refuses, names the owner
    assert refused.status == 409
    assert refused.json() == {"ERR": "RECORD OWNED BY LEGACY", "CODE": 410}
    assert stack.legacy_appointment(theirs[0])["STATUS_CD"] == "B"
    stack.wait_drained()
    # Nothing waits for legacy any more, so the data-aware rollback passes without --force.
    out = stack.rollback("appointments", "legacy", force=False)
    assert "reverse_backlog  0" in out
    assert stack.drift() == 0
    assert stack.dead_letters() == []


def test_legacy_writes_just_before_a_flip_to_migrated_are_kept(backend_stack):
    stack = backend_stack
    """Finding 2: cancels made in legacy that the worker had not applied yet when the feature
    moved to migrated are applied after the flip, and a service write waits for them instead
    of writing the old state back."""
    running(stack, appointments=6)
    stack.wait_drained()
    with stack.worker_paused():  # the worker is behind: legacy's cancels are not applied
        for key in (1, 2, 3):
            stack.legacy_edit(key, STATUS_CD="C")
        stack.advance("appointments", "shadow", "canary", "migrated", weight=1)
        # The service must not write over cancels it has not seen: it answers "try again".
        waiting = stack.reschedule(1, "MOVED BY THE SERVICE")
        assert waiting.status == 409
        assert waiting.json()["ERR"] == "RECORD BEING SYNCHRONIZED, TRY AGAIN"

    eventually(
        "the service has legacy's cancels",
        lambda: all(
            stack.service_row("appointments", k)["status"] == "cancelled" for k in (1, 2, 3)
        ),
    )
    later = stack.reschedule(2, "MOVED BY THE SERVICE")  # on the current state: cancelled
    assert (later.status, later.json()["CODE"]) == (409, 402)
    stack.wait_drained()
    for key in (1, 2, 3):
        assert stack.legacy_appointment(key)["STATUS_CD"] == "C"
    assert stack.drift() == 0


def test_a_legacy_write_later_in_the_same_second_wins_on_both_sides(backend_stack):
    stack = backend_stack
    """Finding 3: the service writes, then legacy writes the same record a few milliseconds
    later, in the same second: legacy's is the newer write, on both sides."""
    running(stack, appointments=4)
    stack.advance("appointments", "shadow", "canary", "migrated", weight=1)
    stack.wait_drained()
    assert stack.reschedule(1, "SERVICE FIRST").status == 200
    stack.legacy_edit(1, REASON_TXT="LEGACY A MOMENT LATER")

    stack.wait_drained()
    assert stack.legacy_appointment(1)["REASON_TXT"] == "LEGACY A MOMENT LATER"
    assert stack.service_row("appointments", 1)["reason"] == "LEGACY A MOMENT LATER"
    assert stack.drift() == 0


def test_a_legacy_edit_right_after_a_rollback_is_not_skipped_as_older(backend_stack):
    stack = backend_stack
    """Finding 10: 25 quick service edits must not push the version into the future, where a
    legacy edit made right after the rollback would look older than them and be skipped."""
    running(stack, appointments=3)
    stack.advance("appointments", "shadow", "canary", "migrated", weight=1)
    stack.wait_drained()
    for attempt in range(25):
        assert stack.reschedule(1, f"EDIT {attempt}").status == 200
    stack.wait_drained()
    stack.rollback("appointments", "shadow", force=False)
    stack.legacy_edit(1, REASON_TXT="LEGACY AFTER THE ROLLBACK")

    stack.wait_drained()
    assert stack.service_row("appointments", 1)["reason"] == "LEGACY AFTER THE ROLLBACK"
    assert stack.drift() == 0


def test_writes_straight_into_legacy_after_migration_reach_the_service(backend_stack):
    stack = backend_stack
    """Finding 7: another legacy module keeps writing APPT_SCHED after cutover; the plan says
    `newer_wins`, so its writes reach the service and the service's own faces see them."""
    running(stack, appointments=4)
    stack.advance("appointments", "shadow", "canary", "migrated", weight=1)
    stack.wait_drained()
    stack.start_worker()  # a worker (re)started after cutover, as any deploy does
    stack.legacy_edit(2, STATUS_CD="C")  # a batch job cancels
    stack.add_appointments([50])  # an interface engine books

    eventually(
        "the service has them",
        lambda: (
            (row := stack.find_service_row("appointments", 2)) is not None
            and row["status"] == "cancelled"
            and stack.find_service_row("appointments", 50) is not None
        ),
    )
    again = stack.cancel(2)
    assert (again.status, again.json()) == (
        409,
        {"ERR": "APPOINTMENT ALREADY CANCELLED", "CODE": 402},
    )
    assert stack.cancel(50).status == 200
    eventually(
        "legacy has the service's cancel", lambda: stack.legacy_appointment(50)["STATUS_CD"] == "C"
    )
    assert stack.drift() == 0


@pytest.mark.databases
def test_canary_writes_and_a_flip_on_servers(server_stack):
    """Findings 1, 2 and 3 with the legacy database on PostgreSQL and MariaDB."""
    stack = running(server_stack, appointments=12)
    stack.advance("appointments", "shadow", "canary", weight=50)
    owners = canary_owner(50)
    mine = [k for k in range(1, 13) if owners.owner_of(k) is Owner.SERVICE]
    for key in mine:
        assert stack.cancel(key).status == 200
    eventually(
        "legacy shows the canary's cancels",
        lambda: all(stack.legacy_appointment(k)["STATUS_CD"] == "C" for k in mine),
    )
    stack.wait_drained()
    spare = next(k for k in range(1, 13) if k not in mine)
    with stack.worker_paused():
        stack.legacy_edit(spare, STATUS_CD="N")
        stack.advance("appointments", "migrated")
    eventually(
        "the no-show made before the flip reached the service",
        lambda: stack.service_row("appointments", spare)["status"] == "no_show",
    )
    assert stack.reschedule(spare, "SERVICE").status == 200
    stack.legacy_edit(spare, REASON_TXT="LEGACY LATER")
    stack.wait_drained()
    assert stack.service_row("appointments", spare)["reason"] == "LEGACY LATER"
    assert stack.legacy_appointment(spare)["REASON_TXT"] == "LEGACY LATER"
    assert stack.drift() == 0
