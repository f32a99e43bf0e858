"""Endpoints every service process has: the health check, and the legacy 404/500 handlers."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from extracted.core.legacy_errors import INTERNAL_ERROR, NO_SUCH_SERVICE, legacy_error_response


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


def _is_api(request: HttpRequest) -> bool:
    # The legacy dispatcher's own test for "an API path" (demo/legacy/app.py).
    return request.path == "/api" or request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: the legacy app's body for an unknown /api path (or a non-numeric id)."""
    if _is_api(request):
        return legacy_error_response(NO_SUCH_SERVICE)
    return HttpResponse("Not Found\n", status=404, content_type="text/plain; charset=utf-8")


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the legacy app's generic failure body under /api, never any detail."""
    if _is_api(request):
        return legacy_error_response(INTERNAL_ERROR)
    return HttpResponse("Server Error\n", status=500, content_type="text/plain; charset=utf-8")
