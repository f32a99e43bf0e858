"""The legacy face of the appointments service: the legacy URLs, answered byte for byte alike.

Thin views: identity and roles come from `require_identity`, reads from selectors.py, the JSON
shape from the legacy serializer; this module only decides which legacy answer applies, in the
legacy dispatcher's order (demo/legacy/app.py): a method the path does not have → 405 with
`Allow` (before any identity check), then identity → 401, role → 403, then the handler.

Only GET (and HEAD) of `/api/appointments/{id}` is served so far. The legacy app also accepts
PUT there (reschedule); that write stays routed to the legacy app until the write path is
extracted, so a PUT reaching this service is answered 405 like any unserved method, and logged.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse

from extracted.appointments.legacy_serializers import LegacyAppointmentSerializer
from extracted.appointments.selectors import appointment_get
from extracted.core.identity import IdentifiedRequest, require_identity
from extracted.core.legacy_errors import (
    APPOINTMENT_NOT_FOUND,
    METHOD_NOT_ALLOWED,
    legacy_error_response,
    legacy_json_response,
)

logger = logging.getLogger("ficus.appointments")

# The legacy app's rule for reading an appointment; OPER and AUDIT have no clinical access.
READ_ROLES = ("CLIN", "SCHED", "BILL", "ADMIN")
# The methods the legacy app lists for this path in its 405 answer, in its order.
LEGACY_ALLOW = "GET, PUT"


def appointment_detail(request: HttpRequest, appointment_id: int) -> HttpResponse:
    if request.method in ("GET", "HEAD"):
        return _show(request, appointment_id)
    if request.method == "PUT":
        logger.warning("PUT /api/appointments/{id} reached the service; route it to legacy")
    return legacy_error_response(METHOD_NOT_ALLOWED, allow=LEGACY_ALLOW)


@require_identity(*READ_ROLES)
def _show(request: IdentifiedRequest, appointment_id: int) -> HttpResponse:
    appointment = appointment_get(appointment_id=appointment_id)
    if appointment is None:
        return legacy_error_response(APPOINTMENT_NOT_FOUND)
    return legacy_json_response(LegacyAppointmentSerializer(appointment).data)
