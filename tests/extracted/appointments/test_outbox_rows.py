"""Every write leaves exactly one outbox row in its own transaction; refusals leave none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.identity import Identity
from extracted.appointments import services
from extracted.appointments.legacy_directory import SqlLegacyDirectory
from extracted.appointments.models import Appointment, Outbox
from extracted.core.legacy_db import legacy_engine
from extracted.core.write_guard import OwnershipGuard
from tests.extracted.appointments.facts import facts_of

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])


def body(f, tm):
    return (
        f'{{"PAT_ID": {f.patient}, "PROV_ID": {f.booked_prov}, "APPT_DT": "{f.booked_dt}",'
        f' "APPT_TM": "{tm}", "DUR_MIN": 15}}'
    ).encode()


def test_each_write_leaves_one_upsert_row_naming_the_record_and_request(world, golden_legacy_db):
    f = facts_of(golden_legacy_db)

    booked = world.ask_service("POST", "/api/appointments", "clinician", body(f, f.free_tm))
    new_id = booked.json()["APPT_ID"]
    world.ask_service("PUT", f"/api/appointments/{new_id}", "scheduler",
                      b'{"APPT_DT": "20261124", "APPT_TM": "0615"}')  # fmt: skip
    world.ask_service("POST", f"/api/appointments/{new_id}/cancel", "admin")

    rows = list(Outbox.objects.order_by("id").values_list("aggregate", "key", "operation"))
    assert rows == [("appointment", str(new_id), "upsert")] * 3
    assert set(Outbox.objects.values_list("request_id", flat=True)) == {"rid-test"}
    assert not Outbox.objects.filter(processed_at__isnull=False).exists()


@pytest.mark.parametrize(
    ("method", "target", "payload"),
    [
        ("POST", "/api/appointments", "taken"),
        ("POST", "/api/appointments", b"{bad"),
        ("POST", "cancelled/cancel", None),
        ("PUT", "cancelled", b'{"APPT_DT": "20261124", "APPT_TM": "0615"}'),
    ],
    ids=["slot-taken", "malformed", "cancel-twice", "reschedule-cancelled"],
)
def test_a_refused_write_leaves_no_outbox_row(world, golden_legacy_db, method, target, payload):
    f = facts_of(golden_legacy_db)
    if target.startswith("cancelled"):
        target = f"/api/appointments/{f.cancelled}" + target.removeprefix("cancelled")
    raw = body(f, f.booked_tm) if payload == "taken" else payload

    answer = world.ask_service(method, target, "clinician", raw)

    assert answer.status in (400, 409)
    assert not Outbox.objects.exists()


def guard() -> OwnershipGuard:
    """The guard a request of the appointments service gets (it owns the records here)."""
    return OwnershipGuard("appointments", "APPT_SCHED", legacy_engine())


def test_the_version_always_moves_forward_even_when_the_clock_is_behind(world, golden_legacy_db):
    f = facts_of(golden_legacy_db)
    before = Appointment.objects.get(pk=f.booked)
    actor = Identity(1, "clinician", "CLIN", 0, "rid-clock")
    behind = before.source_updated_at - timedelta(days=30)

    services.cancel_appointment(appointment_id=f.booked, actor=actor, now=behind, guard=guard())

    after = Appointment.objects.get(pk=f.booked)
    assert after.sync_version > before.sync_version  # what sync orders writes by
    # UPD_TS is the writer's clock in whole seconds, as the legacy app stamps it.
    assert after.source_updated_at == behind.replace(microsecond=0)


def test_a_burst_of_edits_keeps_the_version_at_the_clock(world, golden_legacy_db):
    f = facts_of(golden_legacy_db)
    actor = Identity(1, "clinician", "CLIN", 0, "rid-burst")
    directory = SqlLegacyDirectory(world.legacy_engine)
    starts_at = Appointment.objects.get(pk=f.booked).starts_at
    now = datetime(2026, 12, 2, 9, 0, 0, 250_000, tzinfo=UTC)

    def edit(reason: str) -> int:
        services.reschedule_appointment(
            directory=directory, appointment_id=f.booked, starts_at=starts_at,
            duration_minutes=None, provider_id=None, reason=reason, actor=actor, now=now,
            guard=guard(),
        )  # fmt: skip
        return Appointment.objects.get(pk=f.booked).sync_version

    first = edit("FIRST")
    for attempt in range(25):
        edit(f"EDIT {attempt}")

    after = Appointment.objects.get(pk=f.booked)
    # 25 edits within one clock reading move the version by 25 microseconds, not 25 seconds.
    assert after.sync_version == first + 25
    assert after.source_updated_at == now.replace(microsecond=0)
