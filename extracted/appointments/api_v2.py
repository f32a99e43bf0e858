"""The modern face of the appointments service: /v2/appointments, clean names, ISO 8601.

Thin DRF views on the shared conventions (extracted/core/v2.py: identity, roles, RFC 9457
problems, page numbers). Query parameters are validated by a serializer, so a bad one is a 400
that names it; unknown parameters are refused too, because a misspelt filter would otherwise
widen a search over patient appointments without anyone noticing.

Writes (book, reschedule, cancel) go through services.py, which applies the legacy app's rules
and writes the outbox and audit rows in the same transaction; this module only maps the
service's refusals to problems: an unknown patient or provider is a 400 naming the field, a
taken slot or a cancelled appointment a 409. A dry-run request (the proxy's shadow copy) is
rolled back by the middleware and only peeks at the legacy id counter.

Days (`date`, `date_from`, `date_to`) are days in the hospital's time zone, as on the legacy
appointment book; times are rendered with the hospital's UTC offset. Every answer that shows
appointments writes access-audit rows (`read` for one, `search` per page listed).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from domain.records.instants import in_zone
from extracted.appointments import services
from extracted.appointments.legacy_directory import SqlLegacyDirectory
from extracted.appointments.models import AccessAudit, Appointment
from extracted.appointments.permissions import PERMISSIONS, READ, WRITE
from extracted.appointments.selectors import appointment_get
from extracted.core.access_audit import READ as AUDIT_READ
from extracted.core.access_audit import SEARCH, record_access, record_accesses
from extracted.core.calendar_ends import day_bounds, end_of
from extracted.core.dry_run import is_dry_run
from extracted.core.legacy_db import legacy_engine
from extracted.core.schema import record_id
from extracted.core.v2 import (
    AsciiIntegerField,
    HospitalDateTimeField,
    V2ViewMixin,
    identity_of,
    problem_responses,
)
from extracted.core.v2_errors import CONFLICTING_PARAMETERS, DOES_NOT_EXIST, INVERTED_RANGE
from extracted.core.v2_input import BodySerializer, QuerySerializer
from extracted.core.write_guard import OwnershipGuard, guard_for

RECORD_TYPE = "appointment"
# The legacy ids are 32-bit; a larger filter value can match nothing and would only make
# PostgreSQL fail with "integer out of range".
_MAX_ID = 2**31 - 1


def hospital_zone() -> ZoneInfo:
    return ZoneInfo(settings.FICUS_HOSPITAL_TZ)


def appointment_search(
    *,
    provider_id: int | None = None,
    patient_id: int | None = None,
    statuses: Collection[str] = (),
    starts_from: datetime | None = None,
    starts_before: datetime | None = None,
) -> QuerySet[Appointment]:
    """Appointments matching every given filter, in time order (ties by id: a stable paging)."""
    found = Appointment.objects.all()
    if provider_id is not None:
        found = found.filter(provider_id=provider_id)
    if patient_id is not None:
        found = found.filter(patient_id=patient_id)
    if statuses:
        found = found.filter(status__in=statuses)
    if starts_from is not None:
        found = found.filter(starts_at__gte=starts_from)
    if starts_before is not None:
        found = found.filter(starts_at__lt=starts_before)
    return found.order_by("starts_at", "id")


class AppointmentFilterSerializer(QuerySerializer):
    """The query of GET /v2/appointments. All filters are optional and ANDed."""

    provider = AsciiIntegerField(
        required=False, min_value=1, max_value=_MAX_ID, help_text="Provider id."
    )
    patient = AsciiIntegerField(
        required=False, min_value=1, max_value=_MAX_ID, help_text="Patient id."
    )
    status = serializers.ChoiceField(choices=Appointment.Status.choices, required=False)
    date = serializers.DateField(
        required=False, help_text="One day (YYYY-MM-DD, hospital time zone)."
    )
    date_from = serializers.DateField(required=False, help_text="First day, inclusive.")
    date_to = serializers.DateField(required=False, help_text="Last day, inclusive.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "date" in attrs and ({"date_from", "date_to"} & set(attrs)):
            raise serializers.ValidationError(
                {"date": "Give either date or date_from/date_to."}, code=CONFLICTING_PARAMETERS
            )
        if "date_from" in attrs and "date_to" in attrs and attrs["date_to"] < attrs["date_from"]:
            raise serializers.ValidationError(
                {"date_to": "Must not be before date_from."}, code=INVERTED_RANGE
            )
        return attrs

    def search(self) -> QuerySet[Appointment]:
        data = self.validated_data
        first: date | None = data.get("date", data.get("date_from"))
        last: date | None = data.get("date", data.get("date_to"))
        zone = hospital_zone()
        return appointment_search(
            provider_id=data.get("provider"),
            patient_id=data.get("patient"),
            statuses=[data["status"]] if "status" in data else (),
            starts_from=day_bounds(first, zone)[0] if first else None,
            starts_before=day_bounds(last, zone)[1] if last else None,
        )


class AppointmentSerializer(serializers.Serializer[Appointment]):
    """Output only: writes go through services.py, never through this class."""

    id = serializers.IntegerField(help_text="The legacy APPT_ID.")
    patient_id = serializers.IntegerField()
    patient_display_name = serializers.CharField(help_text="'LAST, FIRST' when booked.")
    provider_id = serializers.IntegerField()
    starts_at = HospitalDateTimeField()
    ends_at = serializers.SerializerMethodField()
    duration_minutes = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Appointment.Status.choices)
    reason = serializers.CharField(allow_blank=True)
    updated_at = HospitalDateTimeField(source="source_updated_at")

    @extend_schema_field(
        {
            "type": "string",
            "format": "date-time",
            "nullable": True,
            "description": "starts_at + duration_minutes; null only when no RFC 3339 time names "
            "the end (a long appointment late on 9999-12-31, past year 9999 at every offset).",
        }
    )
    def get_ends_at(self, appointment: Appointment) -> str | None:
        try:
            ends = end_of(appointment.starts_at, appointment.duration_minutes, hospital_zone())
        except OverflowError:
            return None
        return str(HospitalDateTimeField().to_representation(ends))


# What the field accepts: a whole minute, in hospital time (no offset) in years 1-9999, or
# with a UTC offset from 1900: before standard time the hospital's local time was mean solar
# time (LMT), whose offset has seconds, so an instant in UTC is rarely a whole local minute.
_MINUTE = "-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:00([.]0+)?)?"
_WHOLE_MINUTE = (
    f"^(([1-9][0-9]{{3}}|0[1-9][0-9]{{2}}|00[1-9][0-9]|000[1-9]){_MINUTE}"
    f"|(19|[2-9][0-9])[0-9]{{2}}{_MINUTE}(Z|[+-][0-9]{{2}}:[0-9]{{2}}))$"
)


@extend_schema_field({"type": "string", "format": "date-time", "pattern": _WHOLE_MINUTE})
class _WholeMinuteDateTimeField(HospitalDateTimeField):
    """Input: ISO 8601; without an offset it is hospital time. Whole minutes, like APPT_TM."""

    def to_internal_value(self, value: Any) -> datetime:
        parsed: datetime = super().to_internal_value(value)
        try:
            in_zone(parsed, self.default_timezone())
        except OverflowError:
            # APPT_DT is the hospital's date: it must be a day of years 1-9999 there.
            raise serializers.ValidationError(
                "Must be in years 1-9999 in the hospital's time zone."
            ) from None
        if parsed.second or parsed.microsecond:
            raise serializers.ValidationError("Must be a whole minute (seconds are not kept).")
        return parsed


class AppointmentBookSerializer(BodySerializer):
    """The body of POST /v2/appointments."""

    patient_id = AsciiIntegerField(min_value=1, max_value=_MAX_ID)
    provider_id = AsciiIntegerField(min_value=1, max_value=_MAX_ID)
    starts_at = _WholeMinuteDateTimeField()
    duration_minutes = AsciiIntegerField(min_value=5, max_value=240)
    reason = serializers.CharField(max_length=80, allow_blank=True, required=False, default="")


class AppointmentChangeSerializer(BodySerializer):
    """The body of PATCH /v2/appointments/{id}: a reschedule; absent fields keep their value.
    The patient is not one of them: `patient_id` is refused (400 naming it), not ignored."""

    starts_at = _WholeMinuteDateTimeField(required=False)
    duration_minutes = AsciiIntegerField(min_value=5, max_value=240, required=False)
    provider_id = AsciiIntegerField(min_value=1, max_value=_MAX_ID, required=False)
    reason = serializers.CharField(max_length=80, allow_blank=True, required=False)

    at_least_one_field = True


class SlotTaken(exceptions.APIException):
    status_code = 409
    default_detail = "The provider already has an appointment in that time."
    default_code = "slot_taken"


class AlreadyCancelled(exceptions.APIException):
    status_code = 409
    default_detail = "The appointment is cancelled; it cannot change any more."
    default_code = "already_cancelled"


def _as_problem(error: services.BookingError) -> exceptions.APIException:
    """The service's refusal as the /v2 answer: field errors name the field."""
    if isinstance(error, services.UnknownPatientError):
        return exceptions.ValidationError(
            {"patient_id": ["No patient has this id."]}, code=DOES_NOT_EXIST
        )
    if isinstance(error, services.UnknownProviderError):
        return exceptions.ValidationError(
            {"provider_id": ["No provider has this id."]}, code=DOES_NOT_EXIST
        )
    if isinstance(error, services.SlotTakenError):
        return SlotTaken()
    if isinstance(error, services.AlreadyCancelledError):
        return AlreadyCancelled()
    return exceptions.NotFound("No appointment has this id.")


def _directory(request: Request) -> SqlLegacyDirectory:
    return SqlLegacyDirectory(legacy_engine(), dry_run=is_dry_run(request._request))


def _guard(request: Request, appointment_id: int | None = None) -> OwnershipGuard:
    """The write guard; with an id, that record's ownership is checked at once (409)."""
    guard = guard_for(request._request, "appointments")
    if appointment_id is not None:
        guard.check_owner(appointment_id)
    return guard


class AppointmentList(V2ViewMixin, generics.ListAPIView[Appointment]):
    """Appointments in time order, filtered and paged. Days are in the hospital's time zone."""

    serializer_class = AppointmentSerializer
    read_roles = PERMISSIONS.roles(READ)
    resource_type = "Appointment"  # the SMART scope a machine client needs
    write_roles = PERMISSIONS.roles(WRITE)

    def get_queryset(self) -> QuerySet[Appointment]:
        filters = AppointmentFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return filters.search()

    @extend_schema(
        summary="Search appointments",
        parameters=[AppointmentFilterSerializer],
        responses={200: AppointmentSerializer(many=True), **problem_responses(400, 401, 403)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        # One audit row per appointment shown; a search that found nothing still leaves one.
        ids: list[int | None] = [appointment.pk for appointment in page] or [None]
        record_accesses(AccessAudit, identity_of(request), SEARCH, RECORD_TYPE, ids)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Book an appointment",
        request=AppointmentBookSerializer,
        responses={201: AppointmentSerializer, **problem_responses(400, 401, 403, 409, 413)},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = AppointmentBookSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            appointment = services.book_appointment(
                directory=_directory(request),
                actor=identity_of(request),
                now=datetime.now(UTC),
                guard=_guard(request),
                **body.validated_data,
            )
        except services.BookingError as e:
            raise _as_problem(e) from e
        return Response(
            AppointmentSerializer(appointment).data,
            status=201,
            headers={"Location": f"/v2/appointments/{appointment.pk}"},
        )


class AppointmentDetail(V2ViewMixin, generics.RetrieveAPIView[Appointment]):
    """One appointment by its id (the legacy APPT_ID)."""

    serializer_class = AppointmentSerializer
    queryset = Appointment.objects.all()  # for the schema's path parameter; reads use selectors
    lookup_url_kwarg = "appointment_id"
    write_roles = PERMISSIONS.roles(WRITE)
    read_roles = PERMISSIONS.roles(READ)
    resource_type = "Appointment"  # the SMART scope a machine client needs

    @extend_schema(
        summary="Get one appointment",
        parameters=[record_id("appointment_id")],
        responses={200: AppointmentSerializer, **problem_responses(401, 403, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        appointment = appointment_get(appointment_id=kwargs["appointment_id"])
        if appointment is None:
            raise exceptions.NotFound("No appointment has this id.")
        record_access(AccessAudit, identity_of(request), AUDIT_READ, RECORD_TYPE, appointment.pk)
        return Response(self.get_serializer(appointment).data)

    @extend_schema(
        summary="Reschedule an appointment (or change its reason)",
        parameters=[record_id("appointment_id")],
        request=AppointmentChangeSerializer,
        responses={200: AppointmentSerializer, **problem_responses(400, 401, 403, 404, 409, 413)},
    )
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        guard = _guard(request, kwargs["appointment_id"])
        current = appointment_get(appointment_id=kwargs["appointment_id"])
        if current is None:
            raise exceptions.NotFound("No appointment has this id.")
        body = AppointmentChangeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        change = body.validated_data
        try:
            appointment = services.reschedule_appointment(
                directory=_directory(request),
                appointment_id=current.pk,
                starts_at=change.get("starts_at", current.starts_at),
                duration_minutes=change.get("duration_minutes"),
                provider_id=change.get("provider_id"),
                reason=change.get("reason"),
                actor=identity_of(request),
                now=datetime.now(UTC),
                guard=guard,
            )
        except services.BookingError as e:
            raise _as_problem(e) from e
        return Response(AppointmentSerializer(appointment).data)


class AppointmentCancel(V2ViewMixin, generics.GenericAPIView[Appointment]):
    """Cancel an appointment (a state change, hence an action rather than a DELETE)."""

    serializer_class = AppointmentSerializer
    queryset = Appointment.objects.all()
    lookup_url_kwarg = "appointment_id"
    write_roles = PERMISSIONS.roles(WRITE)
    resource_type = "Appointment"  # the SMART scope a machine client needs

    @extend_schema(
        summary="Cancel an appointment",
        parameters=[record_id("appointment_id")],
        request=None,
        responses={200: AppointmentSerializer, **problem_responses(401, 403, 404, 409)},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        appointment_id = kwargs["appointment_id"]
        guard = _guard(request, appointment_id)
        if appointment_get(appointment_id=appointment_id) is None:
            raise exceptions.NotFound("No appointment has this id.")
        try:
            appointment = services.cancel_appointment(
                appointment_id=appointment_id,
                actor=identity_of(request),
                now=datetime.now(UTC),
                guard=guard,
            )
        except services.BookingError as e:
            raise _as_problem(e) from e
        return Response(AppointmentSerializer(appointment).data)
