"""The write guard: a service writes only records it owns, and only once it has every legacy
write of them; a dry-run is let through (it changes nothing)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.ownership import Owner
from domain.phases import Phase
from domain.plans import load_plans
from domain.route_table import RouteState as StateRow
from domain.route_table import build_route_table
from domain.routes import RequestInfo
from domain.routing import decide
from extracted.core.write_guard import NotOwnerError, OwnershipGuard, SyncInFlightError
from migration_plans.models import RouteState
from migration_plans.ownership_state import forget
from tests.legacy_adapter.legacy_db import add_appointments, appointment_row
from tests.legacy_adapter.sync_helpers import legacy_engine
from tests.support.ownership import plans_with_writes_in

pytestmark = pytest.mark.django_db(databases=["default"])
WRITES = (
    ("POST", "/api/appointments"),
    ("PUT", "/api/appointments/{id:int}"),
    ("POST", "/api/appointments/{id:int}/cancel"),
)


@pytest.fixture
def legacy(tmp_path):
    engine = legacy_engine(f"sqlite:///{tmp_path / 'legacy.sqlite3'}")
    yield engine
    engine.dispose()


def guard(legacy, **kwargs) -> OwnershipGuard:
    return OwnershipGuard("appointments", "APPT_SCHED", legacy, wait_seconds=0.2, **kwargs)


def test_it_refuses_every_record_while_legacy_owns_the_writes(settings, tmp_path, legacy):
    settings.FICUS_PLANS_DIR = plans_with_writes_in(tmp_path / "plans", "legacy")

    with pytest.raises(NotOwnerError) as refused:
        guard(legacy).check_owner(7)
    assert refused.value.owner is Owner.LEGACY
    with pytest.raises(NotOwnerError):
        guard(legacy).check_may_create()


def test_it_lets_a_dry_run_through_whoever_owns_the_record(settings, tmp_path, legacy):
    settings.FICUS_PLANS_DIR = plans_with_writes_in(tmp_path / "plans", "legacy")

    guard(legacy, dry_run=True).check_owner(7)
    guard(legacy, dry_run=True).check_may_create()


def test_in_a_canary_it_accepts_exactly_the_records_the_proxy_sends_it(settings, tmp_path, legacy):
    settings.FICUS_PLANS_DIR = plans_with_writes_in(tmp_path / "plans", "legacy")
    for method, template in WRITES:
        RouteState.objects.create(
            feature="appointments", method=method, template=template, phase="canary",
            weight=40, since=datetime.now(UTC), actor="operator",
        )  # fmt: skip
    forget()
    plans = load_plans(settings.FICUS_PLANS_DIR, environ={})
    table = build_route_table(plans, {w: StateRow(Phase.CANARY, 40) for w in WRITES})

    for key in range(1, 200):
        routed = decide(RequestInfo("PUT", f"/api/appointments/{key}"), table)
        if routed.upstream == "appointments":
            guard(legacy).check_owner(key)
        else:
            with pytest.raises(NotOwnerError):
                guard(legacy).check_owner(key)


def test_it_waits_for_legacy_writes_sync_has_not_applied(settings, tmp_path, legacy):
    settings.FICUS_PLANS_DIR = plans_with_writes_in(tmp_path / "plans", "migrated")
    add_appointments(legacy, [appointment_row(1)])  # captured, never applied: no worker here
    naps: list[float] = []

    with pytest.raises(SyncInFlightError):
        guard(legacy, sleep=naps.append).wait_for_legacy(1)

    assert naps  # it waited before refusing
    guard(legacy).wait_for_legacy(2)  # nothing pending for another record: at once
