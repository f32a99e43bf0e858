"""Access audit: who read, searched or changed which appointment, with the request id.

Only successful requests leave rows (a refusal showed nothing), the rows carry the record id
and nothing else about the patient, and only the auditor can query them.
"""

from __future__ import annotations

import pytest

from extracted.appointments.models import AccessAudit
from tests.extracted.appointments.facts import facts_of
from tests.extracted.identities import headers_for

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])

AUDIT_URL = "/v2/appointments/access-audit"


def rows():
    return list(
        AccessAudit.objects.order_by("id").values_list(
            "login", "role", "action", "record_type", "record_id", "request_id"
        )
    )


def test_a_read_is_audited_with_who_what_and_the_request_id(world, golden_legacy_db):
    f = facts_of(golden_legacy_db)

    world.client.get(
        f"/api/appointments/{f.booked}", headers=headers_for("billing", request_id="rid-42")
    )

    assert rows() == [("billing", "BILL", "read", "appointment", str(f.booked), "rid-42")]
    assert AccessAudit.objects.get().at is not None


def test_a_search_leaves_one_row_per_appointment_it_showed(world, golden_legacy_db):
    f = facts_of(golden_legacy_db)

    answer = world.ask_service(
        "GET", f"/api/appointments?prov={f.booked_prov}&date={f.booked_dt}", "scheduler"
    )

    shown = [str(item["APPT_ID"]) for item in answer.json()["APPTS"]]
    assert shown
    assert [row[4] for row in rows()] == shown
    assert {row[2] for row in rows()} == {"search"}


def test_a_search_that_finds_nothing_is_still_audited(world, golden_legacy_db):
    f = facts_of(golden_legacy_db)

    world.ask_service("GET", f"/api/appointments?prov=1&date={f.empty_dt}", "clinician")

    assert rows() == [("clinician", "CLIN", "search", "appointment", "", "rid-test")]


def test_writes_are_audited_as_create_update_cancel(world, golden_legacy_db):
    f = facts_of(golden_legacy_db)
    body = (
        f'{{"PAT_ID": {f.patient}, "PROV_ID": {f.booked_prov}, "APPT_DT": "{f.booked_dt}",'
        f' "APPT_TM": "{f.free_tm}", "DUR_MIN": 15}}'
    ).encode()

    new_id = world.ask_service("POST", "/api/appointments", "clinician", body).json()["APPT_ID"]
    world.ask_service("PUT", f"/api/appointments/{new_id}", "admin",
                      b'{"APPT_DT": "20261124", "APPT_TM": "0615"}')  # fmt: skip
    world.ask_service("POST", f"/api/appointments/{new_id}/cancel", "scheduler")

    assert [(r[0], r[2], r[4]) for r in rows()] == [
        ("clinician", "create", str(new_id)),
        ("admin", "update", str(new_id)),
        ("scheduler", "cancel", str(new_id)),
    ]


@pytest.mark.parametrize("persona", [None, "operator", "auditor"])
def test_refused_requests_leave_no_row(world, golden_legacy_db, persona):
    f = facts_of(golden_legacy_db)

    world.ask_service("GET", f"/api/appointments/{f.booked}", persona)

    assert rows() == []


def test_the_auditor_can_query_who_saw_a_record(world, golden_legacy_db):
    f = facts_of(golden_legacy_db)
    world.client.get(f"/api/appointments/{f.booked}", headers=headers_for("clinician"))
    world.client.get(f"/api/appointments/{f.cancelled}", headers=headers_for("billing"))

    response = world.client.get(
        AUDIT_URL, {"record_id": str(f.booked)}, headers=headers_for("auditor")
    )

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    found = response.json()
    assert found["count"] == 1
    assert found["results"][0]["login"] == "clinician"
    assert found["results"][0]["record_id"] == str(f.booked)
    assert set(found["results"][0]) == {
        "at", "login", "role", "action", "record_type", "record_id", "request_id",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("persona", "status"),
    [("clinician", 403), ("scheduler", 403), ("billing", 403), ("operator", 403), (None, 401)],
)
def test_only_the_auditor_may_query(world, persona, status):
    headers = headers_for(persona) if persona else {}

    assert world.client.get(AUDIT_URL, headers=headers).status_code == status


@pytest.mark.parametrize(("params", "field"), [({"record_id": "x1"}, "record_id"),
                                               ({"limit": "0"}, "limit"),
                                               ({"record_id": ""}, "record_id"),
                                               ({"recordid": "7"}, "recordid")])  # fmt: skip
def test_bad_unknown_or_empty_query_parameters_are_named_in_a_problem(world, params, field):
    response = world.client.get(AUDIT_URL, params, headers=headers_for("auditor"))

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]
