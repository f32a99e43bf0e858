"""`GET /api/patients?q=`, `GET /api/patients/{id}` and `PUT /api/patients/{id}`.

The PUT (update demographics) follows the appointment writes' order of checks: session, role,
then whether the patient exists (202), then the body (300), then the fields in the order
PHONE, ADDR1, CITY, ST, ZIP, LAST_NM, FIRST_NM, the first failure winning (301 for an absent
or null field, 304 for a wrong type or format). Like every legacy write it answers 200 with
`{"RESULT": "OK", "PAT_ID": n}`. The billing clerk reads charts but may not change them.
"""

from __future__ import annotations

from typing import Any

from demo.legacy import errors, patients, roles
from demo.legacy import validation as check
from demo.legacy.http import Response, json_response
from demo.legacy.routes import Ctx, Route
from demo.legacy.validation import MAX_ID

# Who may change a chart's demographics: the front desk and clinicians, not billing.
EDIT_DEMOGRAPHICS = frozenset({roles.CLIN, roles.SCHED, roles.ADMIN})


def search_patients(ctx: Ctx) -> Response:
    with ctx.engine.connect() as conn:
        try:
            rows = patients.search(conn, ctx.request.query.get("q", ""))
        except patients.SearchTooShortError as e:
            raise errors.search_too_short() from e
    found = [patients.summary(row) for row in rows]
    return json_response({"PATIENTS": found, "COUNT": len(found)})


def get_patient(ctx: Ctx) -> Response:
    return json_response(_existing(ctx))


def update_patient(ctx: Ctx) -> Response:
    pat_id = _existing(ctx)["PAT_ID"]
    body = ctx.request.json_object()
    if body is None:
        raise errors.bad_request()
    change = _demographics(body)
    try:
        patients.update_demographics(ctx.engine, ctx.now, pat_id, change)
    except patients.PatientNotFoundError as e:  # deleted between the check and the write
        raise errors.patient_not_found() from e
    return json_response({"RESULT": "OK", "PAT_ID": pat_id})


def _demographics(body: dict[str, Any]) -> patients.Demographics:
    phone = check.phone_field(body, "PHONE")
    addr1 = check.required_text_field(body, "ADDR1", check.MAX_ADDR1)
    city = check.required_text_field(body, "CITY", check.MAX_CITY)
    st = check.state_field(body, "ST")
    zip_cd = check.zip_field(body, "ZIP")
    last_nm = (
        check.name_part_field(body, "LAST_NM", check.MAX_LAST_NM)
        if check.present(body, "LAST_NM")
        else None
    )
    first_nm = (
        check.name_part_field(body, "FIRST_NM", check.MAX_FIRST_NM)
        if check.present(body, "FIRST_NM")
        else None
    )
    return patients.Demographics(phone, addr1, city, st, zip_cd, last_nm, first_nm)


def _existing(ctx: Ctx) -> dict[str, Any]:
    pat_id = ctx.params["id"]
    if pat_id > MAX_ID:
        raise errors.patient_not_found()
    with ctx.engine.connect() as conn:
        patient = patients.get(conn, pat_id)
    if patient is None:
        raise errors.patient_not_found()
    return patient


ROUTES = [
    Route("GET", "/api/patients", search_patients, roles.READ_CLINICAL),
    Route("GET", "/api/patients/{id}", get_patient, roles.READ_CLINICAL),
    Route("PUT", "/api/patients/{id}", update_patient, EDIT_DEMOGRAPHICS),
]
