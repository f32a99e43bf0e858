"""Ficus's access log: one line per request with the route *template*, never the raw path.

A path such as /api/appointments/17 carries a record id, and query strings carry searches by
name; neither belongs in a log (no PHI in logs). So the line names the matched route
(`/api/appointments/<int:appointment_id>`), the status, the time taken and the proxy's request
id (from the verified identity), which is enough to correlate with the proxy's own log.
Health checks log at DEBUG so a launcher polling them does not drown the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from domain.identity import Identity

logger = logging.getLogger("ficus.access")


class AccessLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        match = request.resolver_match
        route = f"/{match.route}" if match is not None else "<unmatched>"
        identity = getattr(request, "ficus_identity", None)
        rid = identity.request_id if isinstance(identity, Identity) else "-"
        level = (
            logging.DEBUG
            if match is not None and match.url_name == "ficus-health"
            else logging.INFO
        )
        logger.log(
            level,
            "%s %s %d %.1fms rid=%s",
            request.method,
            route,
            response.status_code,
            elapsed_ms,
            rid,
        )
        return response
