"""Dry-run writes: the real answer, and no row changed anywhere.

A shadowed write carries the proxy's signed X-Ficus-Dry-Run for its request id. The service
must answer exactly what the write would answer, while its tables, its outbox, its access
audit and the legacy database it reads (LEGACY_SEQ included) stay byte for byte as they were.
A forged, expired or misdirected token is refused with the legacy 403 and changes nothing.
"""

from __future__ import annotations

import sqlite3

import pytest

from domain.identity import (
    DRY_RUN_HEADER,
)
from extracted.appointments.models import AccessAudit, Appointment, Outbox, ProviderBookingLock
from tests.extracted.appointments.facts import facts_of
from tests.extracted.identities import OTHER_KEY, dry_run_header, identity_header

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])


def everything(world):
    """Every row the service or its legacy database holds."""
    service = tuple(
        tuple(model.objects.order_by("pk").values_list())
        for model in (Appointment, Outbox, AccessAudit, ProviderBookingLock)
    )
    with sqlite3.connect(world.service_legacy_path) as conn:
        legacy = tuple(conn.iterdump())
    return service, legacy


def booking(f, tm: str | None = None) -> bytes:
    return (
        f'{{"PAT_ID": {f.patient}, "PROV_ID": {f.booked_prov}, "APPT_DT": "{f.booked_dt}",'
        f' "APPT_TM": "{tm or f.free_tm}", "DUR_MIN": 30}}'
    ).encode()


def writes(f) -> list[tuple[str, str, bytes | None]]:
    return [
        ("POST", "/api/appointments", booking(f)),
        ("POST", "/api/appointments", booking(f, f.booked_tm)),  # refused: slot taken
        ("PUT", f"/api/appointments/{f.booked}", b'{"APPT_DT": "20261124", "APPT_TM": "0700"}'),
        ("POST", f"/api/appointments/{f.booked}/cancel", None),
        ("GET", f"/api/appointments/{f.booked}", None),
    ]


@pytest.mark.parametrize("index", range(5), ids=["book", "taken", "reschedule", "cancel", "read"])
def test_a_dry_run_answers_like_the_real_write_and_changes_nothing(world, golden_legacy_db, index):
    method, target, body = writes(facts_of(golden_legacy_db))[index]
    before = everything(world)

    dry = world.ask_service(method, target, "clinician", body, dry_run_header())
    after = everything(world)
    legacy = world.ask_legacy(method, target, "clinician", body)
    real = world.ask_service(method, target, "clinician", body)

    assert after == before
    assert (dry.status, dry.body) == (real.status, real.body)
    assert dry.status == legacy.status
    assert everything(world) != before or real.status >= 400 or method == "GET"


def test_a_real_write_after_dry_runs_changes_rows_everywhere(world, golden_legacy_db):
    # The other half of the proof: without the header the same request does change rows.
    f = facts_of(golden_legacy_db)
    before = everything(world)

    world.ask_service("POST", "/api/appointments", "clinician", booking(f))

    service_after, legacy_after = everything(world)
    assert service_after[0] != before[0][0]
    assert service_after[1] != before[0][1]
    assert legacy_after != before[1]  # LEGACY_SEQ moved on


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(lambda: dry_run_header(key=OTHER_KEY), id="forged"),
        pytest.param(lambda: dry_run_header(expires_in=-1), id="expired"),
        pytest.param(lambda: dry_run_header(request_id="rid-other"), id="rid-mismatch"),
        pytest.param(lambda: {DRY_RUN_HEADER: "v1.garbage"}, id="malformed"),
        pytest.param(
            lambda: {DRY_RUN_HEADER: identity_header("clinician")},
            id="identity-replayed",
        ),
    ],
)
def test_an_invalid_dry_run_header_is_refused_and_changes_nothing(world, golden_legacy_db, header):
    f = facts_of(golden_legacy_db)
    before = everything(world)

    answer = world.ask_service("POST", "/api/appointments", "clinician", booking(f), header())

    assert answer.status == 403
    assert answer.body == b'{"ERR": "ACCESS DENIED", "CODE": 102}'
    assert everything(world) == before


def test_a_dry_run_without_an_identity_is_refused(world, golden_legacy_db):
    f = facts_of(golden_legacy_db)
    before = everything(world)

    answer = world.ask_service("POST", "/api/appointments", None, booking(f), dry_run_header())

    assert answer.status == 403
    assert everything(world) == before


def test_a_dry_run_booking_names_the_id_the_real_one_then_gets(world, golden_legacy_db):
    f = facts_of(golden_legacy_db)
    headers = {"X-Ficus-Identity": identity_header("scheduler"), **dry_run_header()}

    dry = world.client.post("/api/appointments", booking(f), "application/json", headers=headers)
    real = world.ask_service("POST", "/api/appointments", "scheduler", booking(f))

    assert dry.status_code == real.status == 200
    assert dry.json()["APPT_ID"] == real.json()["APPT_ID"]
