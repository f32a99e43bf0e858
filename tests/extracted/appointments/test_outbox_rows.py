"""Every write leaves exactly one outbox row in its own transaction; refusals leave none."""

from __future__ import annotations

from datetime import timedelta

import pytest

from extracted.appointments import services
from extracted.appointments.models import Appointment, Outbox
from proxy.identity import Identity
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


def test_the_version_always_moves_forward_even_when_the_clock_is_behind(world, golden_legacy_db):
    f = facts_of(golden_legacy_db)
    before = Appointment.objects.get(pk=f.booked).source_updated_at
    actor = Identity(1, "clinician", "CLIN", 0, "rid-clock")

    services.cancel_appointment(
        appointment_id=f.booked, actor=actor, now=before - timedelta(days=30)
    )

    after = Appointment.objects.get(pk=f.booked).source_updated_at
    assert after > before
    assert after.microsecond == 0  # whole seconds, like the legacy UPD_TS
