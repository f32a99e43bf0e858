"""JSON responses in the legacy app's exact format: the error catalog and one way to send them.

The legacy face of a service must be indistinguishable from the legacy endpoint it replaces, so
errors are not "similar" but identical: the same status, the same `{"ERR": ..., "CODE": n}`
body with the same key order and the same separators, `Content-Type: application/json`
and `Cache-Control: no-store`. Every legacy-face view builds its responses here, never with
JsonResponse (whose encoder and headers are Django's, not the legacy app's).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.http import HttpResponse

# The legacy app writes json.dumps(obj, separators=(", ", ": ")) (demo/legacy/http.py): a space
# after each comma and colon, non-ASCII as \uXXXX escapes. Byte for byte means the same here.
_SEPARATORS = (", ", ": ")


@dataclass(frozen=True, slots=True)
class LegacyError:
    status: int
    code: int
    message: str


NO_SUCH_SERVICE = LegacyError(404, 100, "NO SUCH SERVICE")
NOT_LOGGED_IN = LegacyError(401, 101, "NOT LOGGED IN")
ACCESS_DENIED = LegacyError(403, 102, "ACCESS DENIED")
METHOD_NOT_ALLOWED = LegacyError(405, 103, "METHOD NOT ALLOWED")
APPOINTMENT_NOT_FOUND = LegacyError(404, 201, "APPOINTMENT NOT FOUND")
PATIENT_NOT_FOUND = LegacyError(404, 202, "PATIENT NOT FOUND")
BAD_REQUEST = LegacyError(400, 300, "BAD REQUEST")
INVALID_DATE = LegacyError(400, 302, "INVALID DATE")
INVALID_TIME = LegacyError(400, 303, "INVALID TIME")
UNKNOWN_PATIENT = LegacyError(400, 305, "UNKNOWN PATIENT")
UNKNOWN_PROVIDER = LegacyError(400, 305, "UNKNOWN PROVIDER")
SEARCH_TOO_SHORT = LegacyError(400, 306, "SEARCH TOO SHORT")
SLOT_NOT_AVAILABLE = LegacyError(409, 401, "SLOT NOT AVAILABLE")
ALREADY_CANCELLED = LegacyError(409, 402, "APPOINTMENT ALREADY CANCELLED")
# Ficus's own refusals on the legacy face, in the legacy shape: the service does not own the
# record (a write that reached it past the proxy's routing), or legacy changes of the record
# are still on their way (try again in a moment). The legacy app never answers these itself.
SYNC_IN_FLIGHT = LegacyError(409, 411, "RECORD BEING SYNCHRONIZED, TRY AGAIN")


def not_owner(owner: str) -> LegacyError:
    """`owner` is who owns the record instead: `legacy` (or another service's name)."""
    return LegacyError(409, 410, f"RECORD OWNED BY {owner.upper()}")


# Not in the contract table, but what the legacy app answers on an unexpected failure.
INTERNAL_ERROR = LegacyError(500, 900, "INTERNAL ERROR")


def missing_field(name: str) -> LegacyError:
    return LegacyError(400, 301, f"MISSING FIELD {name.upper()}")


def invalid_value(name: str) -> LegacyError:
    return LegacyError(400, 304, f"INVALID VALUE {name.upper()}")


class LegacyApiError(Exception):
    """Raised by legacy-face validation and caught by the view, which answers `error`."""

    def __init__(self, error: LegacyError) -> None:
        super().__init__(f"{error.status} {error.code} {error.message}")
        self.error = error


def legacy_json_response(payload: Any, *, status: int = 200) -> HttpResponse:
    """`payload` serialized as the legacy app does, with the legacy JSON headers."""
    body = json.dumps(payload, separators=_SEPARATORS)
    response = HttpResponse(body, status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def legacy_error_response(error: LegacyError, *, allow: str | None = None) -> HttpResponse:
    """The legacy error body; `allow` is the `Allow` header the legacy app adds to a 405."""
    response = legacy_json_response({"ERR": error.message, "CODE": error.code}, status=error.status)
    if allow is not None:
        response["Allow"] = allow
    return response
