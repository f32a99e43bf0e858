"""`GET /api/patients?q=` and `GET /api/patients/{id}`: patient search and demographics."""

from __future__ import annotations

from demo.legacy import errors, patients, roles
from demo.legacy.http import Response, json_response
from demo.legacy.routes import Ctx, Route
from demo.legacy.validation import MAX_ID


def search_patients(ctx: Ctx) -> Response:
    with ctx.engine.connect() as conn:
        try:
            rows = patients.search(conn, ctx.request.query.get("q", ""))
        except patients.SearchTooShortError as e:
            raise errors.search_too_short() from e
    found = [patients.summary(row) for row in rows]
    return json_response({"PATIENTS": found, "COUNT": len(found)})


def get_patient(ctx: Ctx) -> Response:
    pat_id = ctx.params["id"]
    if pat_id > MAX_ID:
        raise errors.patient_not_found()
    with ctx.engine.connect() as conn:
        patient = patients.get(conn, pat_id)
    if patient is None:
        raise errors.patient_not_found()
    return json_response(patient)


ROUTES = [
    Route("GET", "/api/patients", search_patients, roles.READ_CLINICAL),
    Route("GET", "/api/patients/{id}", get_patient, roles.READ_CLINICAL),
]
