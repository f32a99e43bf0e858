"""gunicorn's refusals as the services' own answers: the bytes `FaceWorker` sends instead of
gunicorn's HTML page (extracted/core/gunicorn_refusals.py says which refusals and why).

The answer is the one Django's handlers give that path (`extracted.core.views.answer_for`,
which decides the face with `domain.answers.face_of`), with the headers Django's
SecurityMiddleware adds to every other answer, `Cache-Control: no-store` and
`Connection: close`. This module needs Django set up, so the gunicorn master (which loads the
worker class before any Django) never imports it: `extracted/wsgi.py` hands it to the workers
with the application (`RefusingApplication`).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Final, NamedTuple

from django.http import HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware

from domain.answers import LEGACY_CODES
from extracted.core.legacy_errors import LegacyError
from extracted.core.views import answer_for


class _Refusal(NamedTuple):
    fhir_code: str  # FHIR IssueType
    detail: str


_REFUSALS: Final = {
    400: _Refusal("invalid", "The request is malformed."),
    403: _Refusal("forbidden", "The request is forbidden."),
    414: _Refusal("too-long", "The request line is longer than this service accepts."),
    417: _Refusal("not-supported", "The Expect header is not supported."),
    431: _Refusal(
        "too-long", "The request's header fields are larger, or more, than this service accepts."
    ),
    501: _Refusal("not-supported", "The request's transfer coding is not supported."),
}
_FAILURE: Final = _Refusal(
    "exception", "The service failed; nothing about the failure is shown here."
)


# gunicorn's 501 is a transfer coding it does not support, not the proxy's unknown method.
_GUNICORN_LEGACY: Final = {501: (916, "TRANSFER CODING NOT IMPLEMENTED")}


def _legacy(status: int) -> tuple[int, str]:
    """The legacy body's CODE and ERR: gunicorn's own meaning where it differs from the
    proxy's table, the proxy's table, else legacy's generic ones."""
    fallback = (900, "INTERNAL ERROR") if status >= 500 else (300, "BAD REQUEST")
    return _GUNICORN_LEGACY.get(status) or LEGACY_CODES.get(status, fallback)


def refusal_response(status: int, target: bytes) -> HttpResponse:
    """The Django response for a refusal with `status` of a request for `target`, with the
    headers the services' middleware would add."""
    refusal = _REFUSALS.get(status, _FAILURE)
    code, err = _legacy(status)
    path = target.split(b"?", 1)[0].split(b"#", 1)[0].decode("latin-1")
    response = answer_for(
        path,
        legacy=LegacyError(status, code, err),
        status=status,
        detail=refusal.detail,
        fhir_code=refusal.fhir_code,
        plain=HTTPStatus(status).phrase,
    )
    response["Cache-Control"] = "no-store"
    made = SecurityMiddleware(lambda request: response).process_response(HttpRequest(), response)
    return made


def refusal_bytes(status: int, target: bytes) -> bytes:
    """The whole HTTP/1.1 answer, head and body, ready for the socket."""
    response = refusal_response(status, target)
    response["Connection"] = "close"
    response["Content-Length"] = str(len(response.content))
    line = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode("latin-1")
    return line + response.serialize()
