"""The appointment JSON API: list a provider's day, show one, book, reschedule, cancel.

Legacy quirks kept on purpose: a successful create answers 200 (not 201) with
`{"RESULT": "OK", "APPT_ID": n}`, and so do reschedule and cancel. Order of checks (the contract
relies on it): session, role, then for PUT and cancel whether the appointment exists, then the
body, then the business rules (cancelled, unknown patient/provider, slot taken).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from demo.legacy import appointments, errors, roles
from demo.legacy import validation as check
from demo.legacy.http import Response, json_response
from demo.legacy.routes import Ctx, Route


def list_appointments(ctx: Ctx) -> Response:
    prov_id = check.id_param(ctx.request.query, "prov")
    appt_dt = check.date_param(ctx.request.query, "date")
    with ctx.engine.connect() as conn:
        found = appointments.list_for_day(conn, prov_id, appt_dt)
    return json_response({"APPTS": found, "COUNT": len(found)})


def get_appointment(ctx: Ctx) -> Response:
    return json_response(_existing(ctx))


def book_appointment(ctx: Ctx) -> Response:
    body = _body(ctx)
    pat_id = check.id_field(body, "PAT_ID")
    prov_id = check.id_field(body, "PROV_ID")
    appt_dt = check.date_field(body, "APPT_DT")
    appt_tm = check.time_field(body, "APPT_TM")
    dur_min = check.duration_field(body, "DUR_MIN")
    reason_txt = check.text_field(body, "REASON_TXT")
    with _booking_errors():
        appt_id = appointments.book(
            ctx.engine,
            ctx.now,
            pat_id=pat_id,
            prov_id=prov_id,
            appt_dt=appt_dt,
            appt_tm=appt_tm,
            dur_min=dur_min,
            reason_txt=reason_txt,
        )
    return _ok(appt_id)


def reschedule_appointment(ctx: Ctx) -> Response:
    appt_id = _existing(ctx)["APPT_ID"]
    body = _body(ctx)
    appt_dt = check.date_field(body, "APPT_DT")
    appt_tm = check.time_field(body, "APPT_TM")
    dur_min = check.duration_field(body, "DUR_MIN") if check.present(body, "DUR_MIN") else None
    prov_id = check.id_field(body, "PROV_ID") if check.present(body, "PROV_ID") else None
    reason = check.text_field(body, "REASON_TXT") if check.present(body, "REASON_TXT") else None
    with _booking_errors():
        appointments.reschedule(
            ctx.engine,
            ctx.now,
            appt_id,
            appt_dt=appt_dt,
            appt_tm=appt_tm,
            dur_min=dur_min,
            prov_id=prov_id,
            reason_txt=reason,
        )
    return _ok(appt_id)


def cancel_appointment(ctx: Ctx) -> Response:
    appt_id = _existing(ctx)["APPT_ID"]
    with _booking_errors():
        appointments.cancel(ctx.engine, ctx.now, appt_id)
    return _ok(appt_id)


def _existing(ctx: Ctx) -> dict[str, Any]:
    appt_id = ctx.params["id"]
    if appt_id > check.MAX_ID:
        raise errors.appointment_not_found()
    with ctx.engine.connect() as conn:
        found = appointments.get(conn, appt_id)
    if found is None:
        raise errors.appointment_not_found()
    return found


def _body(ctx: Ctx) -> dict[str, Any]:
    body = ctx.request.json_object()
    if body is None:
        raise errors.bad_request()
    return body


def _ok(appt_id: int) -> Response:
    return json_response({"RESULT": "OK", "APPT_ID": appt_id})


_CONTRACT_ERRORS: dict[type[appointments.BookingError], Callable[[], errors.ApiError]] = {
    appointments.AppointmentNotFoundError: errors.appointment_not_found,
    appointments.UnknownPatientError: errors.unknown_patient,
    appointments.UnknownProviderError: errors.unknown_provider,
    appointments.SlotTakenError: errors.slot_not_available,
    appointments.AlreadyCancelledError: errors.already_cancelled,
}


@contextmanager
def _booking_errors() -> Iterator[None]:
    """Translate the booking rules' exceptions into contract errors."""
    try:
        yield
    except appointments.BookingError as e:
        raise _CONTRACT_ERRORS[type(e)]() from e


ROUTES = [
    Route("GET", "/api/appointments", list_appointments, roles.READ_CLINICAL),
    Route("POST", "/api/appointments", book_appointment, roles.BOOK),
    Route("GET", "/api/appointments/{id}", get_appointment, roles.READ_CLINICAL),
    Route("PUT", "/api/appointments/{id}", reschedule_appointment, roles.BOOK),
    Route("POST", "/api/appointments/{id}/cancel", cancel_appointment, roles.BOOK),
]
