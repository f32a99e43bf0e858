"""The modern face of the patients service: /v2/patients (DRF), on the shared /v2 conventions.

Identity, roles, RFC 9457 errors naming the field, page-number pagination and `no-store` come
from extracted/core/v2.py. What is the service's own:
* the list shows summaries only (no encrypted field is decrypted for a list), filterable by
  exact `mrn`, `family` name prefix and exact `birth_date`; a bad filter is a 400 naming it;
* the detail shows contact details too; the SSN is full for ADMIN only, masked for the others
  (the legacy face masks it for everyone, as legacy did);
* PATCH changes demographics through services.update_patient (outbox + audit, one transaction);
* /v2/patients/access-audit: the access audit, for the auditor only (who reads no charts).
Every read, list and update leaves an access-audit row.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from extracted.core.access_audit import READ, SEARCH, record_access, record_accesses
from extracted.core.schema import record_id
from extracted.core.v2 import (
    AsciiIntegerField,
    V2APIView,
    V2Pagination,
    identity_of,
    problem_responses,
)
from extracted.core.v2_input import BodySerializer, QuerySerializer
from extracted.core.v2_pagination import paging_parameters
from extracted.core.write_guard import guard_for
from extracted.patients import selectors, services
from extracted.patients.legacy_serializers import mask_ssn
from extracted.patients.models import AccessAudit, Patient
from extracted.patients.permissions import PERMISSIONS

_PHONE = re.compile(r"^\([0-9]{3}\) [0-9]{3}-[0-9]{4}$")
# No comma (legacy stores "LAST,FIRST"), no NUL (DRF refuses it; the schema says so too).
_NAME_CHECK = re.compile(r"^[^,\x00]+$")


class PatientSummarySerializer(serializers.ModelSerializer[Patient]):
    class Meta:
        model = Patient
        fields = ["id", "mrn", "family_name", "given_name", "birth_date", "sex"]


class PatientDetailSerializer(serializers.ModelSerializer[Patient]):
    ssn = serializers.SerializerMethodField(help_text="Full for ADMIN, else XXX-XX-1234.")
    updated_at = serializers.DateTimeField(source="source_updated_at", read_only=True)

    class Meta:
        model = Patient
        fields = [
            "id", "mrn", "family_name", "given_name", "birth_date", "sex", "ssn", "phone",
            "address_line", "city", "state", "postal_code", "updated_at",
        ]  # fmt: skip

    def get_ssn(self, patient: Patient) -> str | None:
        full = bool(self.context.get("full_ssn"))
        return patient.ssn if full else mask_ssn(patient.ssn)


class PatientFilterSerializer(QuerySerializer):
    mrn = serializers.RegexField(r"^[A-Za-z][0-9]{7}$", required=False)
    family = serializers.CharField(required=False, min_length=1, max_length=35)
    birth_date = serializers.DateField(required=False, input_formats=["iso-8601"])


class DemographicsPatchSerializer(BodySerializer):
    """Every field optional (PATCH); the same rules as the legacy PUT, upper-cased alike."""

    phone = serializers.RegexField(_PHONE, required=False, allow_blank=True)
    address_line = serializers.CharField(required=False, max_length=60)
    city = serializers.CharField(required=False, max_length=30)
    state = serializers.RegexField(r"^[A-Za-z]{2}$", required=False)
    postal_code = serializers.RegexField(r"^[0-9]{5}$", required=False)
    family_name = serializers.RegexField(_NAME_CHECK, required=False, max_length=35)
    given_name = serializers.RegexField(_NAME_CHECK, required=False, max_length=25)

    at_least_one_field = True

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        return {
            name: value if name == "phone" else value.strip().upper()
            for name, value in attrs.items()
        }


class PatientList(V2APIView):
    read_roles = PERMISSIONS.roles("read")
    resource_type = "Patient"  # the SMART scope a machine client needs

    @extend_schema(
        summary="Search patients (summaries)",
        operation_id="patients_list",
        parameters=[PatientFilterSerializer, *paging_parameters()],
        responses={
            200: PatientSummarySerializer(many=True),
            **problem_responses(400, 401, 403),
        },
    )
    def get(self, request: Request) -> Response:
        filters = PatientFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        found = selectors.patient_list(**filters.validated_data).defer(*selectors.ENCRYPTED_FIELDS)
        paginator = V2Pagination()
        page = paginator.paginate_queryset(found, request, view=self)
        assert page is not None
        ids: list[int | None] = [patient.pk for patient in page] or [None]
        record_accesses(AccessAudit, identity_of(request), SEARCH, services.AGGREGATE, ids)
        return paginator.get_paginated_response(PatientSummarySerializer(page, many=True).data)


class PatientDetail(V2APIView):
    read_roles = PERMISSIONS.roles("read")
    resource_type = "Patient"  # the SMART scope a machine client needs
    write_roles = PERMISSIONS.roles("update")

    def _patient(self, patient_id: int) -> Patient:
        patient = selectors.patient_get(patient_id=patient_id)
        if patient is None:
            raise exceptions.NotFound("No patient with this id.")
        return patient

    def _render(self, request: Request, patient: Patient) -> Response:
        full = PERMISSIONS.allows(identity_of(request).role, "read_full_ssn")
        return Response(PatientDetailSerializer(patient, context={"full_ssn": full}).data)

    @extend_schema(
        summary="Get one patient",
        parameters=[record_id("patient_id")],
        responses={200: PatientDetailSerializer, **problem_responses(401, 403, 404)},
    )
    def get(self, request: Request, patient_id: int) -> Response:
        patient = self._patient(patient_id)
        record_access(AccessAudit, identity_of(request), READ, services.AGGREGATE, patient.pk)
        return self._render(request, patient)

    @extend_schema(
        summary="Change a patient's demographics",
        parameters=[record_id("patient_id")],
        request=DemographicsPatchSerializer,
        responses={
            200: PatientDetailSerializer,
            **problem_responses(400, 401, 403, 404, 409, 413),
        },
    )
    def patch(self, request: Request, patient_id: int) -> Response:
        guard = guard_for(request._request, "patients")
        guard.check_owner(patient_id)  # not this service's record: 409 naming its owner
        self._patient(patient_id)
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError("The body must be a JSON object.")
        change = DemographicsPatchSerializer(data=request.data)
        change.is_valid(raise_exception=True)
        try:
            patient = services.update_patient(
                patient_id=patient_id,
                changes=change.validated_data,
                identity=identity_of(request),
                now=datetime.now(UTC),
                guard=guard,
            )
        except services.PatientNotFoundError as e:
            raise exceptions.NotFound("No patient with this id.") from e
        return self._render(request, patient)


class AccessAuditSerializer(serializers.ModelSerializer[AccessAudit]):
    class Meta:
        model = AccessAudit
        fields = ["id", "at", "login", "role", "action", "record_type", "record_id", "request_id"]


class AccessAuditFilterSerializer(QuerySerializer):
    record_id = AsciiIntegerField(
        required=False, min_value=1, max_value=2**31 - 1, help_text="Only this patient id."
    )
    login = serializers.CharField(required=False, max_length=64, help_text="Only this login.")


class AccessAuditList(V2APIView):
    read_roles = PERMISSIONS.roles("audit")

    @extend_schema(
        summary="Who accessed which patient (auditors only)",
        parameters=[AccessAuditFilterSerializer, *paging_parameters()],
        responses={200: AccessAuditSerializer(many=True), **problem_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        filters = AccessAuditFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        record_id = filters.validated_data.get("record_id")
        found = selectors.access_audit_list(
            record_id=None if record_id is None else str(record_id),
            login=filters.validated_data.get("login"),
        )
        paginator = V2Pagination()
        page = paginator.paginate_queryset(found, request, view=self)
        assert page is not None
        return paginator.get_paginated_response(AccessAuditSerializer(page, many=True).data)
