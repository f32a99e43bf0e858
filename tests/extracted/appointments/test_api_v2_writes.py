"""POST/PATCH /v2/appointments and POST .../cancel: the legacy rules, /v2 answers.

Runs on the seeded legacy/service pair (world.py): patients, providers and LEGACY_SEQ live in
the service's copy of the legacy database, so booking checks real rows and draws a real id.
Personas: the clinician and the scheduler write; billing reads but may not write; the auditor
may do neither; the outsider is not authenticated. A dry-run booking answers and changes
nothing.
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from extracted.appointments.models import AccessAudit, Appointment, Outbox
from tests.extracted.appointments.facts import facts_of
from tests.extracted.identities import dry_run_header, headers_for

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])


@pytest.fixture
def facts(world, golden_legacy_db):
    return facts_of(golden_legacy_db)


def iso(day: str, hhmm: str) -> str:
    """A legacy YYYYMMDD + HHMM as an ISO local time without offset (hospital time)."""
    return f"{day[:4]}-{day[4:6]}-{day[6:]}T{hhmm[:2]}:{hhmm[2:]}:00"


def send(client, method, path, body=None, persona="clinician", **headers):
    return client.generic(
        method,
        path,
        json.dumps(body) if body is not None else "",
        content_type="application/json",
        headers={**headers_for(persona), **headers},
    )


def booking(facts, **changes):
    return {
        "patient_id": facts.patient,
        "provider_id": facts.booked_prov,
        "starts_at": iso(facts.booked_dt, facts.free_tm),
        "duration_minutes": 30,
        "reason": "V2 BOOKING",
        **changes,
    }


def problem(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    return json.loads(response.content)


def fields(response):
    return [e["field"] for e in problem(response, 400)["errors"]]


def test_the_clinician_books_and_gets_the_new_appointment(client, facts):
    response = send(client, "POST", "/v2/appointments", booking(facts))

    assert response.status_code == 201, response.content
    body = json.loads(response.content)
    assert response["Location"] == f"/v2/appointments/{body['id']}"
    stored = Appointment.objects.get(pk=body["id"])
    assert (stored.patient_id, stored.provider_id, stored.status) == (
        facts.patient,
        facts.booked_prov,
        "booked",
    )
    assert body["starts_at"].startswith(iso(facts.booked_dt, facts.free_tm))
    assert body["duration_minutes"] == 30
    assert body["reason"] == "V2 BOOKING"


def test_a_booking_writes_its_outbox_and_audit_rows(client, facts):
    body = json.loads(send(client, "POST", "/v2/appointments", booking(facts)).content)

    assert Outbox.objects.filter(aggregate="appointment", key=str(body["id"])).count() == 1
    assert AccessAudit.objects.filter(action="create", record_id=str(body["id"])).count() == 1


def test_a_taken_slot_is_a_409(client, facts):
    taken = booking(facts, starts_at=iso(facts.booked_dt, facts.booked_tm))

    body = problem(send(client, "POST", "/v2/appointments", taken), 409)

    assert "already has an appointment" in body["detail"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"patient_id": "unknown"}, ["patient_id"]),
        ({"starts_at": "2026-11-23T09:30:15"}, ["starts_at"]),
        ({"starts_at": "tomorrow"}, ["starts_at"]),
        ({"duration_minutes": 3}, ["duration_minutes"]),
        ({"duration_minutes": 241, "reason": "X" * 81}, ["duration_minutes", "reason"]),
    ],
)
def test_an_invalid_booking_names_each_field(client, facts, changes, expected):
    assert fields(send(client, "POST", "/v2/appointments", booking(facts, **changes))) == expected


def test_missing_fields_are_each_named(client, facts):
    response = send(client, "POST", "/v2/appointments", {"reason": "X"})

    assert fields(response) == ["patient_id", "provider_id", "starts_at", "duration_minutes"]


def test_an_unknown_patient_or_provider_is_named(client, facts):
    unknown_patient = booking(facts, patient_id=facts.unknown_patient)
    unknown_provider = booking(facts, provider_id=facts.unknown_prov)

    assert fields(send(client, "POST", "/v2/appointments", unknown_patient)) == ["patient_id"]
    assert fields(send(client, "POST", "/v2/appointments", unknown_provider)) == ["provider_id"]
    assert not Outbox.objects.exists()


def test_an_unknown_id_says_so_by_its_code(client, facts):
    unknown_patient = booking(facts, patient_id=facts.unknown_patient)

    response = send(client, "POST", "/v2/appointments", unknown_patient)

    assert [e["code"] for e in json.loads(response.content)["errors"]] == ["does_not_exist"]


def test_a_body_that_is_not_json_is_a_400(client, facts):
    response = client.post(
        "/v2/appointments", "{oops", content_type="application/json", headers=headers_for("admin")
    )

    assert problem(response, 400)["title"] == "Bad Request"


@pytest.mark.parametrize(("persona", "status"), [("billing", 403), ("auditor", 403)])
def test_roles_that_may_not_write_are_forbidden(client, facts, persona, status):
    before = Appointment.objects.count()

    problem(send(client, "POST", "/v2/appointments", booking(facts), persona=persona), status)

    assert Appointment.objects.count() == before


def test_the_outsider_cannot_book(client, facts):
    response = client.post(
        "/v2/appointments", json.dumps(booking(facts)), content_type="application/json"
    )

    problem(response, 401)


def test_the_scheduler_reschedules_to_a_free_slot(client, facts):
    path = f"/v2/appointments/{facts.booked}"
    change = {"starts_at": iso(facts.booked_dt, facts.free_tm), "duration_minutes": 20}

    response = send(client, "PATCH", path, change, persona="scheduler")

    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    assert body["starts_at"].startswith(change["starts_at"])
    assert body["duration_minutes"] == 20
    assert AccessAudit.objects.filter(action="update", record_id=str(facts.booked)).exists()


def test_a_reason_alone_can_change_and_the_time_stays(client, facts):
    before = json.loads(send(client, "GET", f"/v2/appointments/{facts.booked}").content)

    response = send(client, "PATCH", f"/v2/appointments/{facts.booked}", {"reason": "NEW"})

    after = json.loads(response.content)
    assert (after["reason"], after["starts_at"]) == ("NEW", before["starts_at"])


def test_rescheduling_onto_another_booking_is_a_409(client, facts):
    other = json.loads(send(client, "GET", f"/v2/appointments/{facts.other_booked}").content)

    change = {"starts_at": other["starts_at"], "duration_minutes": other["duration_minutes"]}
    problem(send(client, "PATCH", f"/v2/appointments/{facts.booked}", change), 409)


def test_an_empty_change_is_a_400_about_the_whole_request(client, facts):
    assert fields(send(client, "PATCH", f"/v2/appointments/{facts.booked}", {})) == [None]


def test_a_cancelled_appointment_cannot_be_rescheduled(client, facts):
    change = {"reason": "TOO LATE"}

    problem(send(client, "PATCH", f"/v2/appointments/{facts.cancelled}", change), 409)


def test_cancelling_twice_is_a_409_the_second_time(client, facts):
    path = f"/v2/appointments/{facts.booked}/cancel"

    first = send(client, "POST", path)
    second = send(client, "POST", path)

    assert first.status_code == 200
    assert json.loads(first.content)["status"] == "cancelled"
    assert "cancelled" in problem(second, 409)["detail"]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("PATCH", "", {"reason": "X"}), ("POST", "/cancel", None)],
)
def test_writes_to_an_unknown_appointment_are_404(client, facts, method, suffix, body):
    problem(send(client, method, f"/v2/appointments/{facts.unknown_appt}{suffix}", body), 404)


def test_a_dry_run_booking_answers_201_and_leaves_no_trace(client, facts, world):
    with sqlite3.connect(world.service_legacy_path) as conn:
        legacy_before = tuple(conn.iterdump())
    count_before = Appointment.objects.count()

    response = send(client, "POST", "/v2/appointments", booking(facts), **dry_run_header())

    assert response.status_code == 201, response.content
    assert Appointment.objects.count() == count_before
    assert not Outbox.objects.exists()
    assert not AccessAudit.objects.exists()
    with sqlite3.connect(world.service_legacy_path) as conn:
        assert tuple(conn.iterdump()) == legacy_before


@pytest.mark.parametrize("reason", ["HIP\x00", "HIP\ud800"])
def test_a_reason_legacy_cannot_store_is_refused_on_both_faces(client, facts, reason):
    # PostgreSQL refuses NUL and no server takes a lone surrogate: reverse sync would dead-letter.
    before = Appointment.objects.count()
    body = problem(send(client, "POST", "/v2/appointments", booking(facts, reason=reason)), 400)
    assert [e["field"] for e in body["errors"]] == ["reason"]
    legacy_body = {"PAT_ID": facts.patient, "PROV_ID": facts.booked_prov,
                   "APPT_DT": facts.booked_dt, "APPT_TM": facts.free_tm, "DUR_MIN": 30,
                   "REASON_TXT": reason}  # fmt: skip
    answer = send(client, "POST", "/api/appointments", legacy_body)
    assert (answer.status_code, answer.json()) == (
        400, {"ERR": "INVALID VALUE REASON_TXT", "CODE": 304}
    )  # fmt: skip
    assert Appointment.objects.count() == before
    assert not Outbox.objects.exists()
