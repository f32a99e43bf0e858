"""Endpoints every service process has: the health check, and Django's 400/404/500 handlers.

The handlers answer in the format of the face the path belongs to, decided by the one rule the
proxy's own answers use (`domain.answers.face_of`): the legacy app's bodies under /api,
problem+json under /v2, an OperationOutcome under /fhir, plain text elsewhere; and under
/control the control plane's `{"reason"}` JSON, never cached, as migration_plans/api.py refuses.
None of them says more than the status does.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from domain.answers import Face, face_of
from extracted.core.fhir import outcome_response
from extracted.core.legacy_errors import (
    BAD_REQUEST,
    INTERNAL_ERROR,
    NO_SUCH_SERVICE,
    LegacyError,
    legacy_error_response,
)
from extracted.core.v2_errors import problem_response


@require_safe
def health(request: HttpRequest) -> HttpResponse:
    """Liveness for the demo launcher, tests and load balancers: no auth, no data, no database.

    It says the process is up and which services it serves; whether a database is reachable is
    a readiness question for a later endpoint, so a slow database never makes a live process
    look dead.
    """
    response = JsonResponse({"status": "ok", "services": list(settings.SERVICES)})
    response["Cache-Control"] = "no-store"
    return response


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(f"{text}\n", status=status, content_type="text/plain; charset=utf-8")


def _control(status: int, text: str) -> HttpResponse:
    response = JsonResponse({"reason": text.lower()}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def answer_for(
    path: str,
    *,
    legacy: LegacyError,
    status: int,
    detail: str,
    fhir_code: str,
    plain: str,
) -> HttpResponse:
    """The answer in the face of `path`; also gunicorn's refusals (extracted.core.
    gunicorn_refusals), made before Django sees the request."""
    if path == "/control" or path.startswith("/control/"):
        return _control(status, plain)  # the control plane's own refusal shape
    answers: dict[Face, Callable[[], HttpResponse]] = {
        Face.LEGACY_API: lambda: legacy_error_response(legacy),
        Face.V2: lambda: problem_response(status, detail),
        Face.FHIR: lambda: outcome_response(status, fhir_code, detail),
        Face.HTML: lambda: _plain(status, plain),
    }
    return answers[face_of(path.encode("utf-8", "surrogateescape"))]()


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400 (Django's SuspiciousOperation): above all a body over the 2.5 MB limit. The
    legacy faces answer it as legacy answers any body too large (300); the others with 413."""
    too_large = isinstance(exception, RequestDataTooBig)
    status = 413 if too_large else 400
    return answer_for(
        request.path,
        legacy=BAD_REQUEST,
        status=status,
        detail="The request body is too large." if too_large else "The request is malformed.",
        fhir_code="too-long" if too_large else "invalid",
        plain="Request Entity Too Large" if too_large else "Bad Request",
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: the legacy app's body for an unknown /api path (or a non-numeric id)."""
    return answer_for(
        request.path,
        legacy=NO_SUCH_SERVICE,
        status=404,
        detail="No such resource.",
        fhir_code="not-found",
        plain="Not Found",
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the legacy app's generic failure body under /api, never any detail."""
    return answer_for(
        request.path,
        legacy=INTERNAL_ERROR,
        status=500,
        detail="The service failed; nothing about the failure is shown here.",
        fhir_code="exception",
        plain="Server Error",
    )
