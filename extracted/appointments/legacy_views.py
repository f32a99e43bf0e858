"""The legacy face of the appointments service: the legacy URLs, answered byte for byte alike.

Thin views: identity and roles come from `require_permission`, reads from selectors.py, writes
from services.py, the JSON shape from the legacy serializer; this module only decides which
legacy answer applies, in the legacy dispatcher's order (demo/legacy/app.py): a method the path
does not have → 405 with `Allow` (before any identity check), then identity → 401, role → 403,
then the handler's own order: for PUT and cancel, whether the appointment exists (404); then
the body (300, then each field in the legacy order: 301/302/303/304); then the booking rules
(402 cancelled, 305 unknown patient/provider, 401 slot taken).

Successful reads and writes leave access-audit rows (a list leaves one `search` row per
appointment it showed); refused requests leave none, because they showed nothing.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Concatenate, ParamSpec
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from domain.records import LocalDateTimeCodec, MappingError
from extracted.appointments import legacy_validation as check
from extracted.appointments import selectors, services
from extracted.appointments.legacy_directory import SqlLegacyDirectory
from extracted.appointments.legacy_serializers import LegacyAppointmentSerializer
from extracted.appointments.models import AccessAudit
from extracted.appointments.permissions import PERMISSIONS, READ, WRITE
from extracted.core import access_audit
from extracted.core.dry_run import is_dry_run
from extracted.core.identity import IdentifiedRequest
from extracted.core.legacy_constraints import LegacyCannotHoldError
from extracted.core.legacy_db import legacy_engine
from extracted.core.legacy_errors import (
    ALREADY_CANCELLED,
    APPOINTMENT_NOT_FOUND,
    INVALID_DATE,
    INVALID_TIME,
    METHOD_NOT_ALLOWED,
    SLOT_NOT_AVAILABLE,
    UNKNOWN_PATIENT,
    UNKNOWN_PROVIDER,
    LegacyApiError,
    LegacyError,
    invalid_value,
    legacy_error_response,
    legacy_json_response,
)
from extracted.core.permissions import require_permission
from extracted.core.write_guard import OwnershipGuard, WriteRefusedError, guard_for, refusal

logger = logging.getLogger("ficus.appointments")

P = ParamSpec("P")
RECORD_TYPE = "appointment"
FEATURE = "appointments"

# The business-rule refusals, as the legacy app words them.
_BOOKING_ERRORS: dict[type[services.BookingError], LegacyError] = {
    services.AppointmentNotFoundError: APPOINTMENT_NOT_FOUND,
    services.UnknownPatientError: UNKNOWN_PATIENT,
    services.UnknownProviderError: UNKNOWN_PROVIDER,
    services.SlotTakenError: SLOT_NOT_AVAILABLE,
    services.AlreadyCancelledError: ALREADY_CANCELLED,
}


def _legacy_answers(
    view: Callable[Concatenate[IdentifiedRequest, P], HttpResponse],
) -> Callable[Concatenate[IdentifiedRequest, P], HttpResponse]:
    """Turn validation and booking refusals into the legacy error bodies."""

    @functools.wraps(view)
    def wrapper(request: IdentifiedRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except LegacyApiError as e:
            return legacy_error_response(e.error)
        except services.BookingError as e:
            return legacy_error_response(_BOOKING_ERRORS[type(e)])
        except LegacyCannotHoldError as e:  # named by its (first) legacy column, as legacy would
            return legacy_error_response(invalid_value(e.column.split("+")[0]))
        except WriteRefusedError as e:
            return legacy_error_response(refusal(e))

    return wrapper


# --- dispatch by method, as the legacy route table does -------------------------------------


def appointments_collection(request: HttpRequest) -> HttpResponse:
    if request.method in ("GET", "HEAD"):
        return _list(request)
    if request.method == "POST":
        return _book(request)
    return legacy_error_response(METHOD_NOT_ALLOWED, allow="GET, POST")


def appointment_detail(request: HttpRequest, appointment_id: int) -> HttpResponse:
    if request.method in ("GET", "HEAD"):
        return _show(request, appointment_id)
    if request.method == "PUT":
        return _reschedule(request, appointment_id)
    return legacy_error_response(METHOD_NOT_ALLOWED, allow="GET, PUT")


def appointment_cancel(request: HttpRequest, appointment_id: int) -> HttpResponse:
    if request.method == "POST":
        return _cancel(request, appointment_id)
    return legacy_error_response(METHOD_NOT_ALLOWED, allow="POST")


# --- handlers -----------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _directory(request: HttpRequest) -> SqlLegacyDirectory:
    return SqlLegacyDirectory(legacy_engine(), dry_run=is_dry_run(request))


def _guard(request: HttpRequest, appointment_id: int | None = None) -> OwnershipGuard:
    """The request's write guard; with an id, the ownership of that record is checked now,
    before the body is read: a record this service does not own gets 409 naming its owner."""
    guard = guard_for(request, FEATURE)
    if appointment_id is not None:
        guard.check_owner(appointment_id)
    return guard


def _starts_at(appt_dt: str, appt_tm: str) -> datetime:
    codec = LocalDateTimeCodec(ZoneInfo(settings.FICUS_HOSPITAL_TZ))
    try:
        return codec.decode(appt_dt, appt_tm)
    except MappingError as e:
        # A wall time in the spring-forward gap, or on 9999-12-31 but already in year 10000 in
        # UTC: the legacy app stores either, this service cannot (both declared in the plan).
        raise LegacyApiError(INVALID_DATE if e.column == "APPT_DT" else INVALID_TIME) from None


def _ok(appointment_id: int) -> HttpResponse:
    return legacy_json_response({"RESULT": "OK", "APPT_ID": appointment_id})


def _existing(appointment_id: int) -> int:
    if selectors.appointment_get(appointment_id=appointment_id) is None:
        raise LegacyApiError(APPOINTMENT_NOT_FOUND)
    return appointment_id


@require_permission(PERMISSIONS, READ)
@_legacy_answers
def _list(request: IdentifiedRequest) -> HttpResponse:
    provider_id = check.id_param(request, "prov")
    appt_dt = check.date_param(request, "date")
    day = check.parse_date(appt_dt)
    assert day is not None  # date_param accepted it
    found = selectors.appointments_for_day(
        provider_id=provider_id, day=day, zone_name=settings.FICUS_HOSPITAL_TZ
    )
    items = [LegacyAppointmentSerializer(appointment).data for appointment in found]
    access_audit.record_accesses(
        AccessAudit,
        request.ficus_identity,
        access_audit.SEARCH,
        RECORD_TYPE,
        [appointment.pk for appointment in found] or [None],
    )
    return legacy_json_response({"APPTS": items, "COUNT": len(items)})


@require_permission(PERMISSIONS, READ)
@_legacy_answers
def _show(request: IdentifiedRequest, appointment_id: int) -> HttpResponse:
    appointment = selectors.appointment_get(appointment_id=appointment_id)
    if appointment is None:
        return legacy_error_response(APPOINTMENT_NOT_FOUND)
    access_audit.record_access(
        AccessAudit, request.ficus_identity, access_audit.READ, RECORD_TYPE, appointment.pk
    )
    return legacy_json_response(LegacyAppointmentSerializer(appointment).data)


@require_permission(PERMISSIONS, WRITE)
@_legacy_answers
def _book(request: IdentifiedRequest) -> HttpResponse:
    body = check.json_object(request)
    patient_id = check.id_field(body, "PAT_ID")
    provider_id = check.id_field(body, "PROV_ID")
    appt_dt = check.date_field(body, "APPT_DT")
    appt_tm = check.time_field(body, "APPT_TM")
    duration = check.duration_field(body, "DUR_MIN")
    reason = check.text_field(body, "REASON_TXT")
    appointment = services.book_appointment(
        directory=_directory(request),
        patient_id=patient_id,
        provider_id=provider_id,
        starts_at=_starts_at(appt_dt, appt_tm),
        duration_minutes=duration,
        reason=reason,
        actor=request.ficus_identity,
        now=_now(),
        guard=_guard(request),
    )
    return _ok(appointment.pk)


@require_permission(PERMISSIONS, WRITE)
@_legacy_answers
def _reschedule(request: IdentifiedRequest, appointment_id: int) -> HttpResponse:
    guard = _guard(request, appointment_id)
    _existing(appointment_id)
    body = check.json_object(request)
    appt_dt = check.date_field(body, "APPT_DT")
    appt_tm = check.time_field(body, "APPT_TM")
    duration = check.duration_field(body, "DUR_MIN") if check.present(body, "DUR_MIN") else None
    provider_id = check.id_field(body, "PROV_ID") if check.present(body, "PROV_ID") else None
    reason = check.text_field(body, "REASON_TXT") if check.present(body, "REASON_TXT") else None
    appointment = services.reschedule_appointment(
        directory=_directory(request),
        appointment_id=appointment_id,
        starts_at=_starts_at(appt_dt, appt_tm),
        duration_minutes=duration,
        provider_id=provider_id,
        reason=reason,
        actor=request.ficus_identity,
        now=_now(),
        guard=guard,
    )
    return _ok(appointment.pk)


@require_permission(PERMISSIONS, WRITE)
@_legacy_answers
def _cancel(request: IdentifiedRequest, appointment_id: int) -> HttpResponse:
    guard = _guard(request, appointment_id)
    _existing(appointment_id)
    appointment = services.cancel_appointment(
        appointment_id=appointment_id, actor=request.ficus_identity, now=_now(), guard=guard
    )
    return _ok(appointment.pk)
