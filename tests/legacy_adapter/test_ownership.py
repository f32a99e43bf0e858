"""Direction follows the phase of the feature's write routes, and flips back on rollback."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from extracted.appointments.models import Appointment, Outbox
from extracted.core.outbox import UPSERT, record_change
from legacy_adapter.ownership import FORWARD, REVERSE, current_direction, direction_for
from migration_plans.models import RouteState
from tests.legacy_adapter.legacy_db import add_appointments, appointment_row
from tests.legacy_adapter.sync_helpers import edit, legacy_engine, sql, stored

pytestmark = pytest.mark.django_db(databases=["default", "appointments", "patients"])
WRITES = (
    ("POST", "/api/appointments"),
    ("PUT", "/api/appointments/{id:int}"),
    ("POST", "/api/appointments/{id:int}/cancel"),
)


@pytest.fixture
def legacy(legacy_database_url, settings):
    settings.LEGACY_DATABASE_URL = legacy_database_url
    engine = legacy_engine(legacy_database_url)
    yield engine
    engine.dispose()


def move_writes(phase: str) -> None:
    for method, template in WRITES:
        RouteState.objects.update_or_create(
            method=method,
            template=template,
            defaults={"feature": "appointments", "phase": phase, "weight": 0,
                      "since": datetime.now(UTC), "actor": "operator"},
        )  # fmt: skip


@pytest.mark.parametrize(
    ("phases", "direction"),
    [
        ([("GET", "migrated"), ("PUT", "legacy")], FORWARD),  # reads moved, writes did not
        ([("GET", "migrated"), ("PUT", "migrated")], REVERSE),
        ([("PUT", "retired")], REVERSE),
        ([("PUT", "canary")], FORWARD),  # legacy still holds the data during a canary
        ([("GET", "migrated")], REVERSE),  # a read-only feature: its routes decide
    ],
)
def test_direction_for_phases(phases, direction):
    assert direction_for(phases) == direction


def test_it_follows_the_control_plane_and_flips_back_on_rollback(legacy):
    assert current_direction("appointments") == FORWARD  # the plan file: writes on legacy
    move_writes("migrated")
    assert current_direction("appointments") == REVERSE
    move_writes("legacy")  # rollback
    assert current_direction("appointments") == FORWARD


def test_sync_run_auto_carries_service_writes_back_then_legacy_writes_forward(legacy):
    add_appointments(legacy, [appointment_row(1)])
    call_command("sync", "run", "--once", "--feature", "appointments", stdout=StringIO())
    move_writes("migrated")
    with transaction.atomic(using="appointments"):
        Appointment.objects.filter(pk=1).update(
            reason="BOOKED IN SERVICE", source_updated_at=datetime(2026, 11, 22, tzinfo=UTC)
        )
        record_change(Outbox, aggregate="appointment", key=1, operation=UPSERT)

    out = StringIO()
    call_command("sync", "run", "--once", "--feature", "appointments", stdout=out)

    assert "reverse: claimed 1, written 1" in out.getvalue()
    assert sql(legacy, "SELECT REASON_TXT FROM APPT_SCHED WHERE APPT_ID = 1") == [
        ("BOOKED IN SERVICE",)
    ]
    move_writes("legacy")  # rolled back: legacy takes the writes again
    edit(legacy, 1, REASON_TXT="BACK ON LEGACY", UPD_TS="20261123000000")
    out = StringIO()
    call_command("sync", "run", "--once", "--feature", "appointments", stdout=out)
    assert "echoes 1" in out.getvalue() or "applied 1" in out.getvalue()
    assert stored()[1].reason == "BACK ON LEGACY"
