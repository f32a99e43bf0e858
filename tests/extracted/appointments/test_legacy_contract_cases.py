"""Contract parity: the same requests, to the legacy app and to the service, same answers.

Both sides start from the same deterministic seed (world.py). Each case is a short script of
requests (a write, then the reads that show its effect); every step must give the same status,
the same JSON body apart from the fields the plan declares volatile (C1
`contract.volatile_fields`, read from migration_plans/plans/appointments.yaml), the same content
type and the same contract headers (Cache-Control, Allow, Content-Length). Each case runs on
fresh copies of the databases, so writes on one case never leak into another.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from domain.plans import load_plans
from tests.extracted.appointments.facts import Facts, facts_of
from tests.extracted.appointments.world import masked

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])

PLANS_DIR = Path(__file__).resolve().parents[3] / "migration_plans" / "plans"

Step = tuple[str, str, "str | None", "bytes | dict[str, Any] | None"]
Script = Callable[[Facts], list[Step]]


def _volatile_fields() -> frozenset[str]:
    plans = {plan.feature: plan for plan in load_plans(PLANS_DIR, environ={})}
    return plans["appointments"].contract.volatile_names


VOLATILE = _volatile_fields()


def booking(f: Facts, **changes: Any) -> dict[str, Any]:
    body = {
        "PAT_ID": f.patient,
        "PROV_ID": f.booked_prov,
        "APPT_DT": f.booked_dt,
        "APPT_TM": f.free_tm,
        "DUR_MIN": 30,
        "REASON_TXT": "FOLLOW UP",
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not _DROP}


_DROP = object()


def day_list(f: Facts, persona: str = "clinician") -> Step:
    return ("GET", f"/api/appointments?prov={f.booked_prov}&date={f.booked_dt}", persona, None)


def detail(appt_id: int, persona: str = "clinician") -> Step:
    return ("GET", f"/api/appointments/{appt_id}", persona, None)


CASES: dict[str, Script] = {
    # --- list ------------------------------------------------------------------------------
    "list a busy day": lambda f: [day_list(f)],
    "list as billing": lambda f: [day_list(f, "billing")],
    "list an empty day": lambda f: [
        ("GET", f"/api/appointments?prov={f.booked_prov}&date={f.empty_dt}", "scheduler", None)
    ],
    "list without prov": lambda f: [
        ("GET", f"/api/appointments?date={f.booked_dt}", "admin", None)
    ],
    "list without date": lambda f: [("GET", "/api/appointments?prov=1", "clinician", None)],
    "list with blank prov": lambda f: [("GET", "/api/appointments?prov=%20&date=x", "admin", None)],
    "list with a bad date": lambda f: [
        ("GET", "/api/appointments?prov=1&date=20261131", "clinician", None)
    ],
    "list with a non-numeric prov": lambda f: [
        ("GET", f"/api/appointments?prov=abc&date={f.booked_dt}", "clinician", None)
    ],
    "list with prov zero": lambda f: [
        ("GET", f"/api/appointments?prov=0&date={f.booked_dt}", "clinician", None)
    ],
    "list with a repeated prov": lambda f: [
        ("GET", f"/api/appointments?prov={f.booked_prov}&prov=x&date={f.booked_dt}", "admin", None)
    ],
    "list without a session": lambda f: [day_list(f, None)],  # type: ignore[arg-type]
    "list as the operator": lambda f: [day_list(f, "operator")],
    "list as the auditor": lambda f: [day_list(f, "auditor")],
    # --- get -------------------------------------------------------------------------------
    "get a booked appointment": lambda f: [detail(f.booked)],
    "get a cancelled one as billing": lambda f: [detail(f.cancelled, "billing")],
    "get an arrived one with leading zeros": lambda f: [
        ("GET", f"/api/appointments/000{f.arrived}", "scheduler", None)
    ],
    "get an unknown id": lambda f: [detail(f.unknown_appt)],
    "get a huge id": lambda f: [("GET", "/api/appointments/" + "9" * 30, "clinician", None)],
    "get a non-numeric id": lambda f: [("GET", "/api/appointments/abc", "clinician", None)],
    "get without a session": lambda f: [detail(f.booked, None)],  # type: ignore[arg-type]
    "get as the operator": lambda f: [detail(f.booked, "operator")],
    "head an appointment": lambda f: [("HEAD", f"/api/appointments/{f.booked}", "admin", None)],
    # --- methods ---------------------------------------------------------------------------
    "delete is not allowed": lambda f: [("DELETE", f"/api/appointments/{f.booked}", None, None)],
    "patch the collection": lambda f: [("PATCH", "/api/appointments", "clinician", None)],
    "get the cancel path": lambda f: [
        ("GET", f"/api/appointments/{f.booked}/cancel", "clinician", None)
    ],
    "put the collection": lambda f: [("PUT", "/api/appointments", "auditor", None)],
    "cancel a non-numeric id": lambda f: [("POST", "/api/appointments/x1/cancel", "admin", None)],
    # --- book ------------------------------------------------------------------------------
    "book, then read it back": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f)),
        detail(f.unknown_appt - 1000 + 1),
        day_list(f),
    ],
    "book without a reason": lambda f: [
        ("POST", "/api/appointments", "scheduler", booking(f, REASON_TXT=_DROP)),
        detail(f.unknown_appt - 1000 + 1),
    ],
    "book twice in a row": lambda f: [
        ("POST", "/api/appointments", "admin", booking(f, APPT_TM="0500", DUR_MIN=5)),
        ("POST", "/api/appointments", "admin", booking(f, APPT_TM="0505", DUR_MIN=5)),
        day_list(f),
    ],
    "book a taken slot": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f, APPT_TM=f.booked_tm))
    ],
    "book overlapping the end of a slot": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f, APPT_TM="0545", DUR_MIN=240))
    ],
    "book malformed JSON": lambda f: [("POST", "/api/appointments", "clinician", b"{not json")],
    "book a JSON array": lambda f: [("POST", "/api/appointments", "clinician", b"[1, 2]")],
    "book an empty body": lambda f: [("POST", "/api/appointments", "clinician", b"")],
    "book without PAT_ID": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f, PAT_ID=_DROP))
    ],
    "book with APPT_TM null": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f, APPT_TM=None))
    ],
    "book with PAT_ID as text": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f, PAT_ID=str(f.patient)))
    ],
    "book with PROV_ID true": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f, PROV_ID=True))
    ],
    "book with DUR_MIN too short": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f, DUR_MIN=3))
    ],
    "book with DUR_MIN a float": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f, DUR_MIN=30.0))
    ],
    "book on a day that does not exist": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f, APPT_DT="20260229"))
    ],
    "book with a date as a number": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f, APPT_DT=20261124))
    ],
    "book at 2460": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f, APPT_TM="2460"))
    ],
    "book a reason too long": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f, REASON_TXT="X" * 81))
    ],
    "book for an unknown patient": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f, PAT_ID=f.unknown_patient))
    ],
    "book with an unknown provider": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f, PROV_ID=f.unknown_prov))
    ],
    "book unknown patient and provider": lambda f: [
        (
            "POST",
            "/api/appointments",
            "clinician",
            booking(f, PAT_ID=f.unknown_patient, PROV_ID=f.unknown_prov),
        )
    ],
    "book without a session": lambda f: [("POST", "/api/appointments", None, booking(f))],
    "book as billing": lambda f: [("POST", "/api/appointments", "billing", booking(f))],
    # --- reschedule ------------------------------------------------------------------------
    "reschedule, then read it back": lambda f: [
        (
            "PUT",
            f"/api/appointments/{f.booked}",
            "scheduler",
            {"APPT_DT": f.booked_dt, "APPT_TM": f.free_tm, "DUR_MIN": 20, "REASON_TXT": "MOVED"},
        ),
        detail(f.booked),
        day_list(f),
    ],
    "reschedule onto itself": lambda f: [
        (
            "PUT",
            f"/api/appointments/{f.booked}",
            "clinician",
            {"APPT_DT": f.booked_dt, "APPT_TM": f.booked_tm},
        ),
        detail(f.booked),
    ],
    "reschedule into a taken slot": lambda f: [
        (
            "PUT",
            f"/api/appointments/{f.other_booked}",
            "clinician",
            {"APPT_DT": f.booked_dt, "APPT_TM": f.booked_tm, "PROV_ID": f.booked_prov},
        ),
    ],
    "reschedule an unknown id with a bad body": lambda f: [
        ("PUT", f"/api/appointments/{f.unknown_appt}", "clinician", b"nonsense")
    ],
    "reschedule a cancelled appointment": lambda f: [
        (
            "PUT",
            f"/api/appointments/{f.cancelled}",
            "clinician",
            {"APPT_DT": f.booked_dt, "APPT_TM": f.free_tm},
        ),
    ],
    "reschedule without APPT_DT": lambda f: [
        ("PUT", f"/api/appointments/{f.booked}", "clinician", {"APPT_TM": f.free_tm})
    ],
    "reschedule to an unknown provider": lambda f: [
        (
            "PUT",
            f"/api/appointments/{f.booked}",
            "clinician",
            {"APPT_DT": f.booked_dt, "APPT_TM": f.free_tm, "PROV_ID": f.unknown_prov},
        ),
    ],
    "reschedule with malformed JSON": lambda f: [
        ("PUT", f"/api/appointments/{f.booked}", "clinician", b'{"APPT_DT": ')
    ],
    "reschedule as the auditor": lambda f: [
        ("PUT", f"/api/appointments/{f.booked}", "auditor", {"APPT_DT": f.booked_dt})
    ],
    # --- dates at the ends of the calendar (issue 12: each crashed the service) -------------
    # Before 1883 Chicago kept local mean time (UTC-5:50:36, an offset with seconds); year 1
    # and year 9999 are where datetime arithmetic overflows. Legacy stores all of them.
    "book in 1800, then read it back": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f, APPT_DT="18000101", APPT_TM="0900")),
        detail(f.unknown_appt - 1000 + 1),
        ("GET", f"/api/appointments?prov={f.booked_prov}&date=18000101", "clinician", None),
    ],
    "book on the first day of year 1, then list it": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f, APPT_DT="00010101", APPT_TM="0000")),
        detail(f.unknown_appt - 1000 + 1),
        ("GET", f"/api/appointments?prov={f.booked_prov}&date=00010101", "clinician", None),
    ],
    "book on the last day of year 9999, then list it": lambda f: [
        ("POST", "/api/appointments", "clinician", booking(f, APPT_DT="99991231", APPT_TM="0900")),
        detail(f.unknown_appt - 1000 + 1),
        ("GET", f"/api/appointments?prov={f.booked_prov}&date=99991231", "clinician", None),
    ],
    "reschedule to 1800 and to years 1 and 9999": lambda f: [
        (
            "PUT",
            f"/api/appointments/{f.booked}",
            "scheduler",
            {"APPT_DT": "18000101", "APPT_TM": "0930"},
        ),
        detail(f.booked),
        (
            "PUT",
            f"/api/appointments/{f.booked}",
            "scheduler",
            {"APPT_DT": "00010101", "APPT_TM": "0000"},
        ),
        detail(f.booked),
        (
            "PUT",
            f"/api/appointments/{f.booked}",
            "scheduler",
            {"APPT_DT": "99991231", "APPT_TM": "1400", "DUR_MIN": 240},
        ),
        detail(f.booked),
    ],
    "list the last day of year 9999": lambda f: [
        ("GET", f"/api/appointments?prov={f.booked_prov}&date=99991231", "clinician", None)
    ],
    "list with a superscript prov": lambda f: [
        ("GET", f"/api/appointments?prov=%C2%B2&date={f.booked_dt}", "clinician", None)
    ],
    # --- cancel ----------------------------------------------------------------------------
    "cancel twice": lambda f: [
        ("POST", f"/api/appointments/{f.booked}/cancel", "clinician", None),
        ("POST", f"/api/appointments/{f.booked}/cancel", "clinician", None),
        detail(f.booked),
    ],
    "cancel frees the slot": lambda f: [
        ("POST", f"/api/appointments/{f.booked}/cancel", "admin", None),
        ("POST", "/api/appointments", "admin", booking(f, APPT_TM=f.booked_tm)),
    ],
    "cancel an unknown id": lambda f: [
        ("POST", f"/api/appointments/{f.unknown_appt}/cancel", "clinician", None)
    ],
    "cancel without a session": lambda f: [
        ("POST", f"/api/appointments/{f.booked}/cancel", None, None)
    ],
    "cancel as the auditor": lambda f: [
        ("POST", f"/api/appointments/{f.booked}/cancel", "auditor", None)
    ],
}


def _encoded(body: bytes | dict[str, Any] | None) -> bytes | None:
    if body is None or isinstance(body, bytes):
        return body
    return json.dumps(body).encode()


@pytest.mark.parametrize("name", list(CASES))
def test_the_service_answers_like_the_legacy_app(world, golden_legacy_db, name):
    facts = facts_of(golden_legacy_db)
    for method, target, persona, body in CASES[name](facts):
        raw = _encoded(body)
        legacy = world.ask_legacy(method, target, persona, raw)
        service = world.ask_service(method, target, persona, raw)
        step = f"{method} {target} as {persona}"

        assert service.status == legacy.status, step
        assert masked(service.body, VOLATILE) == masked(legacy.body, VOLATILE), step
        assert service.headers == legacy.headers, step


def test_there_are_at_least_thirty_cases_and_every_endpoint_is_covered():
    steps = [step for script in CASES.values() for step in script(_sample_facts())]
    routes = {(method, _template(target)) for method, target, _persona, _body in steps}

    assert len(CASES) >= 30
    assert {
        ("GET", "/api/appointments"),
        ("POST", "/api/appointments"),
        ("GET", "/api/appointments/{id}"),
        ("PUT", "/api/appointments/{id}"),
        ("POST", "/api/appointments/{id}/cancel"),
    } <= routes


def test_the_volatile_fields_come_from_the_plan():
    assert VOLATILE == {"UPD_TS"}


def _sample_facts() -> Facts:
    return Facts(1, 1, "20261124", "0900", 2, 3, 4, 1000, 1, 999, "0600", "20261122", 99)


def _template(target: str) -> str:
    path = target.split("?")[0]
    parts = ["{id}" if part.isdigit() else part for part in path.split("/")]
    return "/".join(parts)
