"""Request bodies over the services' limit, on every face, in the face's own answer.

Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): `request.body` raises
`RequestDataTooBig`, which used to reach Django's HTML "Bad Request (400)" page. The legacy
faces count such a body as "not a JSON object" (300 BAD REQUEST, as the legacy app does for any
body over its own 1 MB); /v2 and FHIR answer 413 (extracted.core.v2), and views.bad_request
answers whatever still reaches Django's handler in the path's face. `DrainBodyMiddleware`
reads an unread body before any answer (gunicorn would otherwise close on a client still
sending, which then sees a broken pipe instead of the answer).
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponseBase

from extracted.core.numbers import ascii_int

__all__ = ["DrainBodyMiddleware", "body_length", "discard_body", "legacy_body"]

# Read and dropped before an answer that did not read the body (a refusal: 401, 404, 413...), so
# the client (the proxy) can finish sending and read the answer instead of a broken pipe; past
# this much, the connection is closed after the answer.
DRAIN_LIMIT = 16 * 1024 * 1024
_CHUNK = 64 * 1024


def body_length(request: HttpRequest) -> int:
    """The declared Content-Length (0 when absent or not a number: gunicorn has checked it)."""
    return ascii_int(str(request.META.get("CONTENT_LENGTH") or ""), low=0, high=10**15) or 0


def discard_body(request: HttpRequest) -> None:
    """Read what is left of a body that will not be used (a refused one), up to DRAIN_LIMIT:
    gunicorn closes the connection after an answer to a half-read request, and a client still
    sending then gets a broken pipe rather than the answer."""
    left = DRAIN_LIMIT
    try:
        while left > 0 and (chunk := request.read(min(_CHUNK, left))):
            left -= len(chunk)
    except OSError:
        pass  # the client went away; there is nothing to answer


def legacy_body(request: HttpRequest) -> bytes | None:
    """The body, or None when it is over Django's limit (the legacy faces' BAD REQUEST)."""
    try:
        return request.body
    except RequestDataTooBig:
        return None  # DrainBodyMiddleware reads it before the answer goes out


class DrainBodyMiddleware:
    """Outermost but the access log: whatever answered, the unread rest of the body is read
    (`discard_body`) before gunicorn sends the answer and closes the connection."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if body_length(request):
            discard_body(request)  # a body already read costs nothing here
        return response
