"""FHIR R4 Patient for the patients service: read and search, on extracted/core/fhir.py.

`GET /fhir/Patient/{id}` and `GET /fhir/Patient?identifier=[system|]MRN&family=PREFIX&
birthdate=YYYY-MM-DD` (a `searchset` Bundle, `_count`/`_offset` paging). The resource carries
the MRN (as an `MR` identifier), name, gender (the clean `sex` values are FHIR's codes),
birth date, phone and address. It never carries the SSN: FHIR clients here are clinical
systems, and the full SSN is an ADMIN-only /v2 field. Roles and audit are those of /v2.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from extracted.core.access_audit import READ, SEARCH, record_access, record_accesses
from extracted.core.fhir import check_format, paging_of, reject_unknown_params, searchset_bundle
from extracted.core.fhir_views import DAY_PATTERN, PAGING_PARAMETERS, FHIRViewMixin
from extracted.core.schema import record_id
from extracted.core.v2 import identity_of
from extracted.patients import selectors, services
from extracted.patients.models import AccessAudit, Patient
from extracted.patients.permissions import PERMISSIONS

MRN_SYSTEM = "urn:ficus:legacy:mrn"
SEARCH_PARAMS = ("identifier", "family", "birthdate")
# An MRN code as searched: no "|" (the last one ends the system), not blank.
_CODE = r"[^|]*[^|\s][^|]*"


def patient_resource(patient: Patient) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "meta": {"lastUpdated": patient.source_updated_at.isoformat()},
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MR",
                        }
                    ]
                },
                "system": MRN_SYSTEM,
                "value": patient.mrn,
            }
        ],
        "name": [{"use": "official", "family": patient.family_name, "given": [patient.given_name]}],
        "gender": patient.sex,
        "birthDate": patient.birth_date.isoformat(),
    }
    if patient.phone:
        resource["telecom"] = [{"system": "phone", "value": patient.phone, "use": "home"}]
    address = {
        "line": [patient.address_line] if patient.address_line else [],
        "city": patient.city,
        "state": patient.state,
        "postalCode": patient.postal_code,
    }
    address = {key: value for key, value in address.items() if value}
    if address:
        resource["address"] = [{"use": "home", **address}]
    return resource


def _identifier(value: str) -> str:
    system, bar, code = value.rpartition("|")
    if bar and system and system != MRN_SYSTEM:
        raise exceptions.ValidationError(
            {"identifier": [f"Only the MRN system {MRN_SYSTEM} is searchable."]}
        )
    if not code.strip():  # a blank code would filter nothing: every patient
        raise exceptions.ValidationError({"identifier": ["Give an MRN after the '|'."]})
    return code


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _birthdate(value: str) -> date:
    try:
        # Python also reads 20260101 and 2026-W01-1; FHIR's date is YYYY-MM-DD only.
        if not _DAY.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise exceptions.ValidationError(
            {"birthdate": ["Expected YYYY-MM-DD (exact day)."]}
        ) from None


class PatientRead(FHIRViewMixin, APIView):
    read_roles = PERMISSIONS.roles("read")
    resource_type = "Patient"  # the SMART scope a machine client needs

    @extend_schema(summary="FHIR R4 read: Patient/{id}", parameters=[record_id("patient_id")])
    def get(self, request: Request, patient_id: int) -> Response:
        patient = selectors.patient_get(patient_id=patient_id)
        if patient is None:
            raise exceptions.NotFound(f"Patient/{patient_id} is not known.")
        check_format(request)  # as on every read: `_format` may only ask for JSON
        record_access(AccessAudit, identity_of(request), READ, services.AGGREGATE, patient.pk)
        return Response(patient_resource(patient))


class PatientSearch(FHIRViewMixin, APIView):
    read_roles = PERMISSIONS.roles("read")
    resource_type = "Patient"  # the SMART scope a machine client needs

    @extend_schema(
        summary="FHIR R4 search: a searchset Bundle of Patients",
        parameters=[
            OpenApiParameter(
                "identifier",
                {"type": "string", "pattern": f"^(({re.escape(MRN_SYSTEM)})?[|])?{_CODE}$"},
                description=f"An MRN, or {MRN_SYSTEM}|MRN (exact).",
            ),
            OpenApiParameter(
                "family",
                {"type": "string", "pattern": r"^[\s\S]*\S[\s\S]*$"},
                description="Family name prefix (any case).",
            ),
            OpenApiParameter(
                "birthdate",
                {"type": "string", "pattern": f"^{DAY_PATTERN}$"},
                description="Exact birth date, YYYY-MM-DD.",
            ),
            *PAGING_PARAMETERS,
        ],
    )
    def get(self, request: Request) -> Response:
        reject_unknown_params(request, SEARCH_PARAMS)
        count, offset = paging_of(request)
        params = request.query_params
        found = selectors.patient_list(
            mrn=_identifier(params["identifier"]) if "identifier" in params else None,
            family=params.get("family") or None,
            birth_date=_birthdate(params["birthdate"]) if "birthdate" in params else None,
        )
        total = found.count()
        page = list(found[offset : offset + count])
        ids: list[int | None] = [patient.pk for patient in page] or [None]
        record_accesses(AccessAudit, identity_of(request), SEARCH, services.AGGREGATE, ids)
        bundle = searchset_bundle(
            request,
            resource_type="Patient",
            items=page,
            total=total,
            count=count,
            offset=offset,
            to_resource=patient_resource,
        )
        return Response(bundle)
