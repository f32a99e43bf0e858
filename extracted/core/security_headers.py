"""A Content-Security-Policy on every HTML page a service answers (today: Swagger UI, /v2/docs/).

The pages load scripts, styles and images from the service itself only (extracted.core.
static_assets): no inline script (the Swagger UI start-up script is its own URL, drf-spectacular's
split view), no other origin, no framing, no plugins. Styles may be inline, as Swagger UI's page
template and its components write them. JSON answers (every legacy, /v2 and FHIR answer) are
left exactly as they are, byte for byte and header for header.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

__all__ = ["CONTENT_SECURITY_POLICY", "ContentSecurityPolicyMiddleware"]

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
