"""The legacy face of the patients service: the legacy URLs, answered byte for byte alike.

Order of decisions, as the legacy dispatcher (demo/legacy/app.py): a method the path does not
have → 405 with `Allow` (before any identity check); identity → 401; role → 403; then, for the
PUT, whether the patient exists (202) before the body is read (300, 301, 304). Every answer is
built with extracted.core.legacy_errors; every search, read and update leaves an access-audit
row (the update's in its write transaction, see services.py).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

from extracted.core.access_audit import READ, SEARCH, record_access, record_accesses
from extracted.core.bodies import legacy_body
from extracted.core.identity import IdentifiedRequest
from extracted.core.legacy_constraints import LegacyCannotHoldError
from extracted.core.legacy_errors import (
    METHOD_NOT_ALLOWED,
    LegacyError,
    invalid_value,
    legacy_error_response,
    legacy_json_response,
)
from extracted.core.legacy_query import first_value
from extracted.core.permissions import require_permission
from extracted.core.write_guard import WriteRefusedError, guard_for, refusal
from extracted.patients import legacy_input, selectors, services
from extracted.patients.legacy_serializers import legacy_detail, legacy_summary
from extracted.patients.models import AccessAudit
from extracted.patients.permissions import PERMISSIONS

logger = logging.getLogger("ficus.patients")

PATIENT_NOT_FOUND = LegacyError(404, 202, "PATIENT NOT FOUND")
SEARCH_TOO_SHORT = LegacyError(400, 306, "SEARCH TOO SHORT")
RECORD_TYPE = services.AGGREGATE
FEATURE = "patients"


def patient_search(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return legacy_error_response(METHOD_NOT_ALLOWED, allow="GET")
    return _search(request)


def patient_detail(request: HttpRequest, patient_id: int) -> HttpResponse:
    if request.method in ("GET", "HEAD"):
        return _show(request, patient_id)
    if request.method == "PUT":
        return _update(request, patient_id)
    return legacy_error_response(METHOD_NOT_ALLOWED, allow="GET, PUT")


@require_permission(PERMISSIONS, "read")
def _search(request: IdentifiedRequest) -> HttpResponse:
    try:
        found = selectors.patient_search(q=first_value(request, "q"))
    except selectors.SearchTooShortError:
        return legacy_error_response(SEARCH_TOO_SHORT)
    ids: list[int | None] = [patient.pk for patient in found] or [None]
    record_accesses(AccessAudit, request.ficus_identity, SEARCH, RECORD_TYPE, ids)
    hits = [legacy_summary(patient) for patient in found]
    return legacy_json_response({"PATIENTS": hits, "COUNT": len(hits)})


@require_permission(PERMISSIONS, "read")
def _show(request: IdentifiedRequest, patient_id: int) -> HttpResponse:
    patient = selectors.patient_get(patient_id=patient_id)
    if patient is None:
        return legacy_error_response(PATIENT_NOT_FOUND)
    record_access(AccessAudit, request.ficus_identity, READ, RECORD_TYPE, patient.pk)
    return legacy_json_response(legacy_detail(patient))


@require_permission(PERMISSIONS, "update")
def _update(request: IdentifiedRequest, patient_id: int) -> HttpResponse:
    guard = guard_for(request, FEATURE)
    try:
        guard.check_owner(patient_id)  # a record this service does not own: 409, its owner
    except WriteRefusedError as e:
        return legacy_error_response(refusal(e))
    if selectors.patient_get(patient_id=patient_id) is None:
        return legacy_error_response(PATIENT_NOT_FOUND)
    try:
        body = legacy_body(request)  # None: over Django's limit, legacy's "not a JSON object"
        change = legacy_input.demographics(legacy_input.json_object(body))
    except legacy_input.LegacyInputError as e:
        return legacy_error_response(e.error)
    try:
        patient = services.update_patient(
            patient_id=patient_id,
            changes=change.changes(),
            identity=request.ficus_identity,
            now=datetime.now(UTC),
            guard=guard,
        )
    except services.PatientNotFoundError:
        return legacy_error_response(PATIENT_NOT_FOUND)
    except LegacyCannotHoldError as e:
        return legacy_error_response(invalid_value(e.column))
    except WriteRefusedError as e:
        return legacy_error_response(refusal(e))
    return legacy_json_response({"RESULT": "OK", "PAT_ID": patient.pk})
