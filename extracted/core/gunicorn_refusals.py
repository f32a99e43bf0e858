"""gunicorn's own refusals, answered in the client's face: `manage.py runservice`'s worker class.

gunicorn refuses some requests before any Django code runs: a request line over
`--limit-request-line` (4094 bytes: 414), header fields over `--limit-request-fields` (100) or
`--limit-request-field_size` (8190 bytes: 431), a head it cannot parse (400), an `Expect` it
does not know (417), a transfer coding it does not support (501). It answers them with its
own HTML page, whatever face the request was for. `FaceWorker` keeps gunicorn's decisions
(which requests are refused, with which status, what is logged) and changes only the bytes
sent: the answer Django's handlers would give that path (`extracted.core.refusal_answers`,
handed to the worker with the application by `extracted/wsgi.py`, since the gunicorn master
loads this module before any Django): the legacy body under /api, problem+json
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
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, Final
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from gunicorn import util
from gunicorn.workers.sync import SyncWorker

# What a worker sends for a refusal: (status, the request target it could read) -> the whole
# HTTP/1.1 answer. Made by extracted.core.refusal_answers, which needs Django set up.
RefusalAnswer = Callable[[int, bytes], bytes]

# The head limits runservice gives gunicorn: gunicorn's defaults, kept (never 0, unlimited).
REQUEST_LINE_LIMIT: Final = 4094
HEADER_FIELDS_LIMIT: Final = 100
HEADER_FIELD_SIZE_LIMIT: Final = 8190
# Bytes of a connection's first read kept to find the request target's face.
HEAD_START: Final = 1024
# The face when no target could be read.
UNKNOWN_TARGET: Final = b"/v2/"


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


class RefusingApplication:
    """A WSGI application and the answer its gunicorn worker sends for gunicorn's refusals.

    `extracted/wsgi.py` builds it once Django is set up; `FaceWorker` finds the answer on the
    application it loaded, so the worker class itself (which the gunicorn master loads first)
    needs no Django."""

    def __init__(self, application: WSGIApplication, refusal_answer: RefusalAnswer) -> None:
        self.application = application
        self.refusal_answer = refusal_answer

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self.application(environ, start_response)


class FaceWorker(SyncWorker):  # type: ignore[misc]  # gunicorn is untyped
    """gunicorn's sync worker, its refusals answered in the face of the request's path."""

    log: Any  # gunicorn's logger, set by Worker.__init__
    wsgi: Any  # the application, set by Worker.load_wsgi before the first request

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
        # Another application than the services' (a test's): gunicorn's own page, unchanged.
        refusing = isinstance(self.wsgi, RefusingApplication)
        answer = self.wsgi.refusal_answer(status, target_of(head_start)) if refusing else None
        try:
            util.write_nonblock(client, answer or captured.sent)
        except OSError:
            self.log.debug("Failed to send error message.")
