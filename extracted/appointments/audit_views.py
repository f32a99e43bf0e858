"""The auditors' view of the access audit: who read or changed which appointment, and when.

`GET /v2/appointments/access-audit?record_id=17&login=clinician&limit=100` answers the newest
rows first as `{"count": n, "results": [{"at", "login", "role", "action", "record_type",
"record_id", "request_id"}]}`. Only the AUDIT role may ask (others get 403, no identity 401, in
the legacy error shape every face of this service shares). Reading the audit is not itself
audited here: the rows hold no PHI beyond record ids, and auditing the auditor's reads would
make each query change the answer to the next.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from extracted.appointments import selectors
from extracted.appointments.permissions import PERMISSIONS, READ_AUDIT
from extracted.core.identity import IdentifiedRequest
from extracted.core.legacy_errors import METHOD_NOT_ALLOWED, legacy_error_response
from extracted.core.numbers import ascii_int
from extracted.core.permissions import require_permission

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
MAX_ID = 2**31 - 1  # APPT_ID is 32-bit


def _bad(field: str, reason: str) -> JsonResponse:
    response = JsonResponse({"errors": {field: reason}}, status=400)
    response["Cache-Control"] = "no-store"
    return response


def access_audit(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return legacy_error_response(METHOD_NOT_ALLOWED, allow="GET")
    return _query(request)


@require_permission(PERMISSIONS, READ_AUDIT)
def _query(request: IdentifiedRequest) -> HttpResponse:
    raw_record_id = request.GET.get("record_id")
    record_id = None if raw_record_id is None else ascii_int(raw_record_id, low=0, high=MAX_ID)
    if raw_record_id is not None and record_id is None:
        return _bad("record_id", "must be an appointment id (digits only)")
    login = request.GET.get("login") or None
    limit = ascii_int(request.GET.get("limit", str(DEFAULT_LIMIT)), low=1, high=MAX_LIMIT)
    if limit is None:
        return _bad("limit", f"must be an integer from 1 to {MAX_LIMIT}")
    rows = selectors.access_audit_entries(
        record_id=None if record_id is None else str(record_id), login=login, limit=limit
    )
    results = [
        {
            "at": row.at.isoformat(),
            "login": row.login,
            "role": row.role,
            "action": row.action,
            "record_type": row.record_type,
            "record_id": row.record_id,
            "request_id": row.request_id,
        }
        for row in rows
    ]
    response = JsonResponse({"count": len(results), "results": results})
    response["Cache-Control"] = "no-store"
    return response
