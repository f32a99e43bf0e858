"""FHIR R4 Appointment: the mapping from the service's model, and the read and search endpoints.

The mapping (`appointment_resource`) is the whole of what is appointment-specific; media type,
OperationOutcome errors, search paging and Bundles are shared (extracted/core/fhir.py).

| model               | FHIR R4 Appointment                                                 |
|---------------------|---------------------------------------------------------------------|
| id (legacy APPT_ID) | id                                                                  |
| status              | status: booked, cancelled, noshow (no_show), arrived                 |
| starts_at           | start at the hospital's offset, else UTC, else 400 (fhir_instant)    |
| + duration_minutes  | end = start + duration; minutesDuration                              |
| reason              | reasonCode[0].text (omitted when empty)                              |
| patient_id          | participant actor Patient/{id} (display: the booked name snapshot)   |
| provider_id         | participant actor Practitioner/{id}                                  |
| source_updated_at   | meta.lastUpdated                                                     |

Participants are `required`/`accepted`: the legacy book has no RSVP, a booking is agreed by
construction. Search supports `patient`, `practitioner` (ids or typed references), `date`
(day precision with eq/ge/gt/le/lt, hospital days) and `status` (comma-separated codes).
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from extracted.appointments.api_v2 import RECORD_TYPE, appointment_search, hospital_zone
from extracted.appointments.models import AccessAudit, Appointment
from extracted.appointments.permissions import PERMISSIONS, READ
from extracted.appointments.selectors import appointment_get
from extracted.core.access_audit import READ as AUDIT_READ
from extracted.core.access_audit import SEARCH, record_access, record_accesses
from extracted.core.calendar_ends import end_of
from extracted.core.fhir import (
    check_format,
    fhir_instant,
    not_an_instant,
    paging_of,
    parse_date_param,
    parse_reference_param,
    reject_unknown_params,
    searchset_bundle,
)
from extracted.core.fhir_views import (
    DAY_PATTERN,
    PAGING_PARAMETERS,
    REFERENCE_ID_PATTERN,
    FHIRViewMixin,
)
from extracted.core.schema import record_id
from extracted.core.v2 import identity_of

STATUS_TO_FHIR = {
    Appointment.Status.BOOKED: "booked",
    Appointment.Status.CANCELLED: "cancelled",
    Appointment.Status.NO_SHOW: "noshow",
    Appointment.Status.ARRIVED: "arrived",
}
FHIR_TO_STATUS = {code: status for status, code in STATUS_TO_FHIR.items()}
SEARCH_PARAMS = ("patient", "practitioner", "date", "status")
_CODES = "|".join(FHIR_TO_STATUS)


def appointment_resource(appointment: Appointment, zone: ZoneInfo) -> dict[str, Any]:
    """The FHIR R4 Appointment for one appointment (a plain dict, JSON-ready)."""
    where = f"Appointment/{appointment.pk}"
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(appointment.pk),
        "meta": {
            "lastUpdated": fhir_instant(
                appointment.source_updated_at, zone, f"meta.lastUpdated of {where}"
            )
        },
        "status": STATUS_TO_FHIR[Appointment.Status(appointment.status)],
    }
    if appointment.reason:
        resource["reasonCode"] = [{"text": appointment.reason}]
    resource["start"] = fhir_instant(appointment.starts_at, zone, f"The start of {where}")
    try:
        ends = end_of(appointment.starts_at, appointment.duration_minutes, zone)
    except OverflowError:
        raise not_an_instant(f"The end of {where}") from None
    resource["end"] = fhir_instant(ends, zone, f"The end of {where}")
    resource["minutesDuration"] = appointment.duration_minutes
    resource["participant"] = [
        {
            "actor": {
                "reference": f"Patient/{appointment.patient_id}",
                "display": appointment.patient_display_name,
            },
            "required": "required",
            "status": "accepted",
        },
        {
            "actor": {"reference": f"Practitioner/{appointment.provider_id}"},
            "required": "required",
            "status": "accepted",
        },
    ]
    return resource


def _statuses(raw: str | None) -> list[str]:
    if raw is None:
        return []
    codes = raw.split(",")
    unknown = [code for code in codes if code not in FHIR_TO_STATUS]
    if unknown:
        supported = ", ".join(FHIR_TO_STATUS)
        raise exceptions.ValidationError(
            {"status": [f"Unsupported status {unknown[0]!r}; supported: {supported}."]}
        )
    return [FHIR_TO_STATUS[code] for code in codes]


class AppointmentRead(FHIRViewMixin, APIView):
    """One Appointment resource; errors are OperationOutcomes."""

    read_roles = PERMISSIONS.roles(READ)
    resource_type = "Appointment"  # the SMART scope a machine client needs

    @extend_schema(
        summary="FHIR R4 read: Appointment/{id}",
        parameters=[record_id("appointment_id")],
    )
    def get(self, request: Request, appointment_id: int) -> Response:
        appointment = appointment_get(appointment_id=appointment_id)
        if appointment is None:
            raise exceptions.NotFound(f"Appointment/{appointment_id} is not known.")
        check_format(request)
        record_access(AccessAudit, identity_of(request), AUDIT_READ, RECORD_TYPE, appointment.pk)
        return Response(appointment_resource(appointment, hospital_zone()))


class AppointmentSearch(FHIRViewMixin, APIView):
    """A searchset Bundle; unknown parameters are refused (400 OperationOutcome)."""

    read_roles = PERMISSIONS.roles(READ)
    resource_type = "Appointment"  # the SMART scope a machine client needs

    @extend_schema(
        summary="FHIR R4 search: a searchset Bundle of Appointments",
        parameters=[
            OpenApiParameter(
                "patient",
                {"type": "string", "pattern": f"^(Patient/)?{REFERENCE_ID_PATTERN}$"},
                description="Patient id or Patient/{id}.",
            ),
            OpenApiParameter(
                "practitioner",
                {"type": "string", "pattern": f"^(Practitioner/)?{REFERENCE_ID_PATTERN}$"},
                description="Practitioner id or Practitioner/{id}.",
            ),
            OpenApiParameter(
                "date",
                {
                    "type": "array",
                    "items": {"type": "string", "pattern": f"^(eq|ge|gt|le|lt)?{DAY_PATTERN}$"},
                },
                explode=True,
                description="[eq|ge|gt|le|lt]YYYY-MM-DD, a hospital day; repeatable (ANDed).",
            ),
            OpenApiParameter(
                "status",
                {"type": "string", "pattern": f"^({_CODES})(,({_CODES}))*$"},
                description="Comma-separated: booked, cancelled, noshow, arrived.",
            ),
            *PAGING_PARAMETERS,
        ],
    )
    def get(self, request: Request) -> Response:
        query = request.query_params
        reject_unknown_params(request, SEARCH_PARAMS)
        zone = hospital_zone()
        # FHIR ignores parameters given with an empty value.
        dates = parse_date_param("date", [v for v in query.getlist("date") if v], zone)
        patient, practitioner = query.get("patient"), query.get("practitioner")
        found = appointment_search(
            patient_id=parse_reference_param("patient", patient, "Patient") if patient else None,
            provider_id=(
                parse_reference_param("practitioner", practitioner, "Practitioner")
                if practitioner
                else None
            ),
            statuses=_statuses(query.get("status") or None),
            starts_from=dates.lower,
            starts_before=dates.upper,
        )
        count, offset = paging_of(request)
        page = list(found[offset : offset + count])
        ids: list[int | None] = [appointment.pk for appointment in page] or [None]
        record_accesses(AccessAudit, identity_of(request), SEARCH, RECORD_TYPE, ids)
        bundle = searchset_bundle(
            request,
            resource_type="Appointment",
            items=page,
            total=found.count(),
            count=count,
            offset=offset,
            to_resource=lambda appointment: appointment_resource(appointment, zone),
        )
        return Response(bundle)
