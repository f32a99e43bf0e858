"""The services' hostile-input corpus: bad input to real service processes fails closed, in the
format of the face it was sent to, never as a 500 or Django's HTML page.

Real processes, as production runs them: the appointments and patients services under
`manage.py runservice` (gunicorn) on loopback ports, their databases filled by the real
backfill from a SQLite legacy database, the shipped plans with their writes migrated (the
services own every record, so writes are answered rather than refused as not owned). Each case
is one request with the identity the proxy would sign for a persona.

Every case a fix of issue 12 made safe is here: Unicode digits (`²` passes `str.isdigit()` and
crashes `int()`), dates at the ends of the calendar (1800s local mean time, year 1, year 9999),
bodies over Django's 2.5 MB limit, and what schemathesis found the services accepting
against their own schemas.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.ownership import plans_with_writes_in
from tests.support.sync_stack import Answer, SyncStack

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"
FHIR = "application/fhir+json"
LEGACY = "application/json"
# Over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), under the proxy's 10 MB.
HUGE = json.dumps({"reason": "X" * 3_000_000, "PHONE": "X" * 3_000_000}).encode()
BOOKING = {"PAT_ID": 1, "PROV_ID": 3, "DUR_MIN": 15}


@dataclass(frozen=True)
class Case:
    service: str
    method: str
    path: str
    status: int
    content_type: str
    body: Any = None
    persona: str = "clinician"
    # The exact body (legacy faces: byte for byte), or a field a problem/outcome must name.
    exact: bytes | None = None
    names: str | None = None


CASES: dict[str, Case] = {
    # --- Unicode digits: '²'.isdigit() is True, int('²') raises --------------------------
    "v2 page ²": Case("appointments", "GET", "/v2/appointments?page=%C2%B2", 400, PROBLEM,
                      names="page"),
    "v2 page_size ²": Case("appointments", "GET", "/v2/appointments?page_size=%C2%B2", 400,
                           PROBLEM, names="page_size"),
    "v2 patients page ²": Case("patients", "GET", "/v2/patients?page=%C2%B2", 400, PROBLEM,
                               names="page"),
    "v2 provider in Arabic-Indic digits": Case(
        "appointments", "GET", "/v2/appointments?provider=%D9%A3", 400, PROBLEM, names="provider"
    ),
    "v2 appointments audit limit ²": Case(
        "appointments", "GET", "/v2/appointments/access-audit?limit=%C2%B2", 400, PROBLEM,
        persona="auditor", names="limit",
    ),
    "fhir _count ²": Case("appointments", "GET", "/fhir/Appointment?_count=%C2%B2", 400, FHIR,
                          names="_count"),
    "fhir _offset ²": Case("appointments", "GET", "/fhir/Appointment?_offset=%C2%B2", 400, FHIR,
                           names="_offset"),
    "fhir patient _count ²": Case("patients", "GET", "/fhir/Patient?_count=%C2%B2", 400, FHIR,
                                  names="_count"),
    "fhir patient reference ²": Case(
        "appointments", "GET", "/fhir/Appointment?patient=Patient/%C2%B2", 400, FHIR,
        names="patient",
    ),
    "legacy prov ²": Case(
        "appointments", "GET", "/api/appointments?prov=%C2%B2&date=20261124", 400, LEGACY,
        exact=b'{"ERR": "INVALID VALUE PROV", "CODE": 304}',
    ),
    # --- the ends of the calendar -----------------------------------------------------------
    "legacy list of 99991231": Case(
        "appointments", "GET", "/api/appointments?prov=3&date=99991231", 200, LEGACY,
        exact=b'{"APPTS": [], "COUNT": 0}',
    ),
    "legacy book in 1800": Case(
        "appointments", "POST", "/api/appointments", 200, LEGACY, persona="scheduler",
        body={**BOOKING, "APPT_DT": "18000101", "APPT_TM": "0900"},
    ),
    "legacy book on 00010101": Case(
        "appointments", "POST", "/api/appointments", 200, LEGACY, persona="scheduler",
        body={**BOOKING, "APPT_DT": "00010101", "APPT_TM": "0000"},
    ),
    "legacy book on 99991231": Case(
        "appointments", "POST", "/api/appointments", 200, LEGACY, persona="scheduler",
        body={**BOOKING, "APPT_DT": "99991231", "APPT_TM": "0600"},
    ),
    "legacy reschedule to 00010101": Case(
        "appointments", "PUT", "/api/appointments/2", 200, LEGACY, persona="scheduler",
        body={"APPT_DT": "00010101", "APPT_TM": "0200"},
        exact=b'{"RESULT": "OK", "APPT_ID": 2}',
    ),
    # 2344 on 99991231 in Chicago is year 10000 in UTC: legacy stores it, and so does the service
    # (its end, 23:59 local, is still a FHIR instant: the FHIR searches below must find it).
    "legacy book past year 9999 in UTC": Case(
        "appointments", "POST", "/api/appointments", 200, LEGACY, persona="scheduler",
        body={**BOOKING, "APPT_DT": "99991231", "APPT_TM": "2344"},
    ),
    "v2 list of 9999-12-31": Case("appointments", "GET", "/v2/appointments?date=9999-12-31",
                                  200, "application/json"),
    "v2 book past year 9999 in UTC": Case(
        "appointments", "POST", "/v2/appointments", 201, "application/json", persona="scheduler",
        body={"patient_id": 1, "provider_id": 3, "starts_at": "9999-12-31T23:00:00-06:00",
              "duration_minutes": 15},
    ),
    "v2 book past year 9999 in the hospital's zone": Case(
        "appointments", "POST", "/v2/appointments", 400, PROBLEM, persona="scheduler",
        body={"patient_id": 1, "provider_id": 3, "starts_at": "9999-12-31T23:00:00-08:00",
              "duration_minutes": 15},
        names="starts_at",
    ),
    "fhir date le9999-12-31": Case("appointments", "GET", "/fhir/Appointment?date=le9999-12-31",
                                   200, FHIR),
    "fhir date gt9999-12-31": Case("appointments", "GET", "/fhir/Appointment?date=gt9999-12-31",
                                   200, FHIR),
    # --- bodies over Django's 2.5 MB limit --------------------------------------------------
    "legacy patient PUT of 6 MB": Case(
        "patients", "PUT", "/api/patients/1", 400, LEGACY, body=HUGE, persona="admin",
        exact=b'{"ERR": "BAD REQUEST", "CODE": 300}',
    ),
    "legacy appointment PUT of 6 MB": Case(
        "appointments", "PUT", "/api/appointments/1", 400, LEGACY, body=HUGE,
        persona="scheduler", exact=b'{"ERR": "BAD REQUEST", "CODE": 300}',
    ),
    "v2 appointment PATCH of 6 MB": Case(
        "appointments", "PATCH", "/v2/appointments/1", 413, PROBLEM, body=HUGE,
        persona="scheduler",
    ),
    "v2 booking of 6 MB": Case(
        "appointments", "POST", "/v2/appointments", 413, PROBLEM, body=HUGE, persona="scheduler"
    ),
    # Answered before the body is read: the sender still gets the answer, not a broken pipe.
    "legacy PUT of 6 MB by a role that may not": Case(
        "patients", "PUT", "/api/patients/1", 403, LEGACY, body=HUGE, persona="operator",
        exact=b'{"ERR": "ACCESS DENIED", "CODE": 102}',
    ),
    "v2 unmatched path with 6 MB": Case(
        "appointments", "PUT", "/v2/nothing-here", 404, PROBLEM, body=HUGE
    ),
    "fhir search with a 6 MB body": Case(
        "appointments", "GET", "/fhir/Appointment", 413, FHIR, body=HUGE
    ),
    "v2 patient PATCH of 6 MB": Case(
        "patients", "PATCH", "/v2/patients/1", 413, PROBLEM, body=HUGE, persona="admin"
    ),
    # --- unknown and empty filters are refused, never ignored (docs/modern-api.md) ---------
    "v2 patients misspelt filter": Case("patients", "GET", "/v2/patients?famly=LUN", 400, PROBLEM,
                                        names="famly"),
    "v2 patients empty filter": Case("patients", "GET", "/v2/patients?family=", 400, PROBLEM,
                                     names="family"),
    "v2 patients audit unknown filter": Case(
        "patients", "GET", "/v2/patients/access-audit?recordid=1", 400, PROBLEM,
        persona="auditor", names="recordid",
    ),
    "v2 patients audit empty filter": Case(
        "patients", "GET", "/v2/patients/access-audit?login=", 400, PROBLEM, persona="auditor",
        names="login",
    ),
    "v2 appointments empty filter": Case("appointments", "GET", "/v2/appointments?status=", 400,
                                         PROBLEM, names="status"),
    "v2 appointments audit unknown filter": Case(
        "appointments", "GET", "/v2/appointments/access-audit?recordid=1", 400, PROBLEM,
        persona="auditor", names="recordid",
    ),
    "fhir patient empty family": Case("patients", "GET", "/fhir/Patient?family=", 400, FHIR,
                                      names="family"),
    "fhir appointment empty status": Case("appointments", "GET", "/fhir/Appointment?status=",
                                          400, FHIR, names="status"),
    "fhir patient misspelt filter": Case("patients", "GET", "/fhir/Patient?famly=LUN", 400, FHIR,
                                         names="famly"),
    # --- body fields a request may not set ---------------------------------------------------
    "v2 reschedule naming patient_id": Case(
        "appointments", "PATCH", "/v2/appointments/1", 400, PROBLEM, persona="scheduler",
        body={"patient_id": 2, "reason": "MOVED"}, names="patient_id",
    ),
    "v2 booking with an unknown field": Case(
        "appointments", "POST", "/v2/appointments", 400, PROBLEM, persona="scheduler",
        body={"patient_id": 1, "provider_id": 3, "starts_at": "2026-12-01T09:00:00-06:00",
              "duration_minutes": 15, "status": "arrived"},
        names="status",
    ),
    "v2 patient PATCH of its id": Case(
        "patients", "PATCH", "/v2/patients/1", 400, PROBLEM, persona="admin",
        body={"id": 2}, names="id",
    ),
    # --- every /v2 path answers problem+json, every FHIR path an OperationOutcome ----------
    "v2 patient id not a number": Case("patients", "GET", "/v2/patients/abc", 404, PROBLEM),
    "v2 appointment id not a number": Case("appointments", "GET", "/v2/appointments/abc", 404,
                                           PROBLEM),
    "v2 trailing slash": Case("appointments", "GET", "/v2/appointments/1/", 404, PROBLEM),
    "v2 unmatched path": Case("appointments", "GET", "/v2/nothing-here", 404, PROBLEM),
    "v2 bare prefix": Case("patients", "GET", "/v2", 404, PROBLEM),
    "v2 appointments audit with PUT": Case(
        "appointments", "PUT", "/v2/appointments/access-audit", 405, PROBLEM, persona="auditor",
        body={},
    ),
    "v2 appointments audit without a role": Case(
        "appointments", "GET", "/v2/appointments/access-audit", 403, PROBLEM
    ),
    "fhir bare prefix": Case("appointments", "GET", "/fhir", 404, FHIR),
    # --- found by schemathesis (tests/extracted/core/test_schema_conformance.py) -----------
    "fhir patient read as XML": Case("patients", "GET", "/fhir/Patient/1?_format=xml", 400, FHIR,
                                     names="_format"),
    "fhir patient identifier with a blank code": Case(
        "patients", "GET", "/fhir/Patient?identifier=%7C%20", 400, FHIR, names="identifier"
    ),
    "fhir patient birthdate without dashes": Case(
        "patients", "GET", "/fhir/Patient?birthdate=19800101", 400, FHIR, names="birthdate"
    ),
    "fhir patient birthdate as an ISO week": Case(
        "patients", "GET", "/fhir/Patient?birthdate=1980-W01-1", 400, FHIR, names="birthdate"
    ),
    "fhir patient id not a number": Case("patients", "GET", "/fhir/Patient/abc", 404, FHIR),
    "legacy unmatched path stays legacy": Case(
        "patients", "GET", "/api/nothing-here", 404, LEGACY,
        exact=b'{"ERR": "NO SUCH SERVICE", "CODE": 100}',
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SyncStack]:
    directory: Path = tmp_path_factory.mktemp("hostile")
    plans = plans_with_writes_in(directory / "plans", "migrated")
    stack = SyncStack(directory, features=("appointments", "patients"), plans_dir=plans)
    try:
        stack.prepare(appointments=3)
        stack.start_service("appointments")
        stack.start_service("patients")
        yield stack
    finally:
        stack.close()


def _named(answer: Answer, content_type: str) -> list[str]:
    """The fields a problem's `errors` or an outcome's `expression`s name."""
    found = answer.json()
    if content_type == PROBLEM:
        return [error["field"] for error in found.get("errors", [])]
    return [name for issue in found["issue"] for name in issue.get("expression", [])]


@pytest.mark.parametrize("name", list(CASES))
def test_the_service_answers_in_its_face_format(services, name):
    case = CASES[name]

    answer = services.ask(case.service, case.method, case.path, case.body, persona=case.persona)

    assert answer.status == case.status, answer.body[:300]
    assert answer.headers["Content-Type"] == case.content_type
    assert answer.headers["Cache-Control"] == "no-store"
    if case.exact is not None:
        assert answer.body == case.exact
    if case.names is not None:
        assert case.names in _named(answer, case.content_type)


def test_a_date_legacy_accepts_is_stored_and_answered_as_legacy_stores_it(services):
    # 1730 for 240 minutes on 99991231 ends in year 10000 in UTC (its end is still shown).
    for day, clock in (("18000101", "1200"), ("00010101", "0400"), ("99991231", "1730")):
        booked = services.ask(
            "appointments", "POST", "/api/appointments",
            {**BOOKING, "APPT_DT": day, "APPT_TM": clock, "DUR_MIN": 240}, persona="scheduler",
        )  # fmt: skip
        assert booked.status == 200, booked.body
        appt_id = booked.json()["APPT_ID"]

        shown = services.ask("appointments", "GET", f"/api/appointments/{appt_id}").json()
        listed = services.ask("appointments", "GET", f"/api/appointments?prov=3&date={day}").json()
        modern = services.ask("appointments", "GET", f"/v2/appointments/{appt_id}")
        fhir = services.ask("appointments", "GET", f"/fhir/Appointment/{appt_id}")

        assert (shown["APPT_DT"], shown["APPT_TM"]) == (day, clock)
        assert appt_id in [found["APPT_ID"] for found in listed["APPTS"]]
        assert (modern.status, fhir.status) == (200, 200)
        assert modern.json()["starts_at"].startswith(f"{day[:4]}-{day[4:6]}-{day[6:]}T")
        assert fhir.json()["start"].startswith(f"{day[:4]}-{day[4:6]}-{day[6:]}T")
