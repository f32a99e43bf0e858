"""gunicorn's own refusals, answered in the client's face: `manage.py runservice`'s worker class.

gunicorn refuses some requests before any Django code runs: a request line over
`--limit-request-line` (4094 bytes: 414), header fields over `--limit-request-fields` (100) or
`--limit-request-field_size` (8190 bytes: 431), a head it cannot parse (400), an `Expect` it
does not know (417), a transfer coding it does not support (501). It answers them with its
own HTML page, whatever face the request was for. `FaceWorker` keeps gunicorn's decisions
(which requests are refused, with which status, what is logged) and changes only the bytes
sent: the answer Django's handlers would give that path (`extracted.core.views.answer_for`,
which decides the face with `domain.answers.face_of`): the legacy body under /api, problem+json
under /v2, an OperationOutcome under /fhir, `{"reason"}` under /control, plain text elsewhere,
with the headers Django's SecurityMiddleware adds to every other answer (nosniff, ...), and
`Cache-Control: no-store`, `Connection: close`; no `Server` header. gunicorn's own log lines
for them quote the client's request line or header line, which may hold PHI: the worker logs
the client's address and the kind of refusal instead (`_Redacting`).

When the request line was too long, gunicorn read it but kept none of it, so the worker keeps
the first bytes it read from the client (`HEAD_START`, enough for a method and the start of a
path). Without a path in them (no request line yet, or a method longer than that), the answer
is problem+json.

The limits stay gunicorn's: a request line without a limit would let a direct client make a
worker hold as much as it sends.
"""

from __future__ import annotations

import socket
import traceback
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from gunicorn import util
from gunicorn.workers.sync import SyncWorker

from domain.answers import LEGACY_CODES

if TYPE_CHECKING:
    from django.http import HttpResponse

# The head limits runservice gives gunicorn: gunicorn's defaults, kept (never 0, unlimited).
REQUEST_LINE_LIMIT: Final = 4094
HEADER_FIELDS_LIMIT: Final = 100
HEADER_FIELD_SIZE_LIMIT: Final = 8190
# Bytes of a connection's first read kept to find the request target's face.
HEAD_START: Final = 1024
# The face when no target could be read.
UNKNOWN_TARGET: Final = b"/v2/"


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


_DOCUMENTED: Final = {
    "414": f"The request line (method, path and query) is over {REQUEST_LINE_LIMIT} bytes.",
    "431": f"Over {HEADER_FIELDS_LIMIT} header fields, or one over {HEADER_FIELD_SIZE_LIMIT} "
    "bytes.",
}


def documented_in_every_operation(result: dict[str, Any], **kwargs: Any) -> Any:
    """drf-spectacular POSTPROCESSING_HOOKS entry (the services' schema and the control
    plane's): every operation may be refused 414 and 431, in the shape of its other refusals
    (the content of its first documented 4xx)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            refusals = [r for s, r in sorted(responses.items()) if s.startswith("4") and
                        "content" in r]  # fmt: skip
            if not refusals:
                continue
            for status, description in _DOCUMENTED.items():
                responses.setdefault(
                    status, {"content": refusals[0]["content"], "description": description}
                )
    return result


def target_of(head_start: bytes) -> bytes:
    """The request target the first bytes of a request line name (perhaps cut short), or
    `UNKNOWN_TARGET` when they name none."""
    line = head_start.lstrip(b"\r\n").split(b"\n", 1)[0].rstrip(b"\r")
    parts = line.split(b" ", 2)
    return parts[1] if len(parts) > 1 and parts[1] else UNKNOWN_TARGET


def refusal_response(status: int, target: bytes) -> HttpResponse:
    """The Django response for a refusal with `status` of a request for `target`, with the
    headers the services' middleware would add."""
    # Imported here: the gunicorn master loads this module before Django is set up.
    from django.http import HttpRequest
    from django.middleware.security import SecurityMiddleware

    from extracted.core.legacy_errors import LegacyError
    from extracted.core.views import answer_for

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


def status_of(gunicorn_answer: bytes) -> int | None:
    """The status of the answer gunicorn wrote (`HTTP/1.1 414 URI Too Long ...`)."""
    parts = gunicorn_answer.split(b"\r\n", 1)[0].split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        return None
    status = int(parts[1])
    return status if status in HTTPStatus._value2member_map_ else None


class _Recording:
    """The client socket, keeping the first `HEAD_START` bytes read from it."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.head_start = b""

    def recv(self, size: int, *flags: int) -> bytes:
        data = self._sock.recv(size, *flags)
        if len(self.head_start) < HEAD_START:
            self.head_start += data[: HEAD_START - len(self.head_start)]
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class _Captured:
    """Stands in for the client socket while gunicorn writes its error page: keeps the bytes
    (gunicorn's `util.write_error` only asks for the timeout and sends)."""

    def __init__(self) -> None:
        self.sent = b""

    def gettimeout(self) -> float:
        return 0.0  # non-blocking already: `write_nonblock` leaves the blocking mode alone

    def send(self, data: bytes) -> int:
        self.sent += data
        return len(data)

    def sendall(self, data: bytes) -> None:
        self.sent += data


class _Redacting:
    """gunicorn's logger while it handles one refusal. Its warning quotes the request line or
    a header line (`Invalid request from ip=...: Invalid HTTP Version 'JOHN X HTTP/1.1'`), and
    its error names the target: either may hold PHI (a patient's name in a query). What is
    logged instead: the client's address and the kind of refusal, or of failure, and where it
    was raised; never the client's text or the exception's message."""

    def __init__(self, log: Any, addr: Any, exc: BaseException) -> None:
        self._log = log
        self._client = addr[0] if addr else "-"
        self._kind = type(exc).__name__
        frames = traceback.extract_tb(exc.__traceback__)
        self._where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "-"

    def warning(self, *args: Any, **kwargs: Any) -> None:
        self._log.warning(
            "Invalid request from ip=%s refused (%s); its text is not logged",
            self._client,
            self._kind,
        )

    def exception(self, *args: Any, **kwargs: Any) -> None:
        self._log.error(
            "Error handling a request from ip=%s: %s at %s; its target and message are not logged",
            self._client,
            self._kind,
            self._where,
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._log, name)


class FaceWorker(SyncWorker):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's sync worker, its refusals answered in the face of the request's path."""

    log: Any  # gunicorn's logger, set by Worker.__init__

    def handle(self, listener: Any, client: socket.socket, addr: Any) -> None:
        # TLS wraps the socket itself; runservice serves plain HTTP on loopback behind the proxy.
        recording = client if self.cfg.is_ssl else _Recording(client)
        super().handle(listener, recording, addr)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        captured = _Captured()
        log = self.log
        self.log = _Redacting(log, addr, exc)
        try:
            super().handle_error(req, captured, addr, exc)  # logs, and decides the status
        finally:
            self.log = log
        status = status_of(captured.sent)
        if status is None:
            return
        head_start = getattr(client, "head_start", b"")
        try:
            util.write_nonblock(client, refusal_bytes(status, target_of(head_start)))
        except OSError:
            self.log.debug("Failed to send error message.")
