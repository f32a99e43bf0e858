"""Finding 4: the services refuse writes they do not own, on every face, with a 409 naming the
owner and nothing written; shadowed (dry-run) writes still answer as the owner would; and a
reconcile with repair afterwards has nothing to repair, because nothing was written.

Real processes: the appointments and patients services under `runservice`, the sync worker,
the shipped plans (every write with legacy), a SQLite legacy database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.databases import fresh_database
from tests.support.sync_stack import SyncStack

pytestmark = pytest.mark.e2e

APPOINTMENT_WRITES = [
    ("PUT", "/api/appointments/1", {"APPT_DT": "20261121", "APPT_TM": "0930"}),
    ("POST", "/api/appointments/1/cancel", None),
    ("PATCH", "/v2/appointments/1", {"reason": "CHANGED"}),
    ("POST", "/v2/appointments/1/cancel", None),
]


@pytest.fixture(
    scope="module",
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.databases),
        pytest.param("mariadb", marks=pytest.mark.databases),
    ],
)
def shipped(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SyncStack]:
    """The stack, with the legacy database on SQLite and, in CI's database stage, each server."""
    directory: Path = tmp_path_factory.mktemp("refusal")
    with fresh_database(request.param, directory) as url:
        stack = SyncStack(directory, features=("appointments", "patients"), legacy_url=url)
        try:
            stack.prepare(appointments=3)
            stack.start_service("appointments")
            stack.start_service("patients")
            stack.start_worker()
            stack.wait_drained()
            yield stack
        finally:
            stack.close()


@pytest.mark.parametrize(("method", "path", "body"), APPOINTMENT_WRITES)
def test_the_appointments_service_refuses_a_record_legacy_owns(shipped, method, path, body):
    before = shipped.service_row("appointments", 1)

    answer = shipped.ask("appointments", method, path, body)

    assert answer.status == 409
    if path.startswith("/v2"):
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert answer.json()["owner"] == "legacy"
        assert answer.json()["type"] == "urn:ficus:problem:record-not-owned"
    else:
        assert answer.json() == {"ERR": "RECORD OWNED BY LEGACY", "CODE": 410}
    assert shipped.service_row("appointments", 1) == before
    assert shipped.pending_outbox("appointments") == 0
    assert shipped.service_sql("appointments", "SELECT COUNT(*) FROM ficus_outbox")[0][0] == 0


def test_a_booking_the_service_would_not_own_is_refused(shipped):
    booking = {"PAT_ID": 1, "PROV_ID": 3, "APPT_DT": "20261230", "APPT_TM": "1000", "DUR_MIN": 15}

    answer = shipped.ask("appointments", "POST", "/api/appointments", booking)

    assert (answer.status, answer.json()["CODE"]) == (409, 410)
    assert shipped.service_sql("appointments", "SELECT COUNT(*) FROM ficus_outbox")[0][0] == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/api/patients/2", {"PHONE": "(312) 555-0100"}),
        ("PATCH", "/v2/patients/2", {"phone": "(312) 555-0100"}),
    ],
)
def test_the_patients_service_refuses_a_record_legacy_owns(shipped, method, path, body):
    answer = shipped.ask("patients", method, path, body, persona="clinician")

    assert answer.status == 409
    owner = answer.json().get("owner") or answer.json()["ERR"]
    assert "legacy" in owner.lower()
    assert shipped.pending_outbox("patients") == 0


def test_a_shadowed_write_runs_in_dry_run_and_changes_nothing(shipped):
    before = shipped.service_row("appointments", 2)

    answer = shipped.ask("appointments", "POST", "/api/appointments/2/cancel", dry_run=True)

    assert answer.json() == {"RESULT": "OK", "APPT_ID": 2}  # what the owner would answer
    assert shipped.service_row("appointments", 2) == before
    assert shipped.service_sql("appointments", "SELECT COUNT(*) FROM ficus_outbox")[0][0] == 0


def test_repair_then_finds_nothing_to_repair_and_deletes_nothing(shipped):
    for method, path, body in APPOINTMENT_WRITES:
        shipped.ask("appointments", method, path, body)

    out = shipped.reconcile("appointments", "--repair")

    assert "drift rows: 0" in out
    assert {
        row[0]
        for row in shipped.service_sql("appointments", "SELECT id FROM appointments_appointment")
    } == {1, 2, 3}
