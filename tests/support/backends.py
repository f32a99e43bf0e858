"""Real loopback HTTP servers that record what they receive, standing in for upstreams.

`RecordingBackend` is a threaded `http.server` that answers every request with a small JSON body
naming itself, and keeps each request it got (method, path with query, headers, body) so a test
can assert which backend saw what. It speaks HTTP/1.1 keep-alive like a real upstream, and
reads chunked request bodies too, in case something forwards them. `answer(path, ...)` makes it
answer one path (query ignored, optionally one method) with another status, body or headers,
e.g. a service that does not have a record yet (404) or fails (503). The proxy's health checks
(`HEALTH_PATH`) are answered with `health_status` and not recorded.

`RawBackend` answers every connection with fixed bytes (garbage, a truncated response ...) to
see how a proxy copes with a broken upstream.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from domain.identity import (
    IDENTITY_HEADER,
    REQUEST_ID_HEADER,
    Identity,
    binding_for_target,
    verify_identity,
)
from tests.support.ports import LOOPBACK

HEALTH_PATH = "/__ficus/health"  # the proxy's default health-check path (contract C1)


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str  # the request target exactly as received, query included
    headers: dict[str, list[str]]  # lower-case names, every value in order
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    def identity(self, key: bytes) -> Identity:
        """The signed identity it carried, verified against this very request as a service
        verifies it (InvalidIdentityError if it has none, or one for another request)."""
        return verify_identity(
            self.header(IDENTITY_HEADER),
            key,
            time.time(),
            binding=binding_for_target(self.method, self.path.encode("latin-1")),
            request_id=self.header(REQUEST_ID_HEADER) or "",
        )


@dataclass(frozen=True)
class Answer:
    status: int
    # None: the usual JSON naming the backend; a callable: a new body for each request.
    body: bytes | Callable[[], bytes] | None = None
    headers: tuple[tuple[str, str], ...] = ()  # sent after Content-Type and Content-Length
    content_type: str = "application/json"


class RecordingBackend:
    def __init__(self, name: str, *, status: int = 200) -> None:
        self.name = name
        self.status = status
        self.health_status = 200  # what the proxy's health checks get (HEALTH_PATH)
        self._lock = threading.Lock()
        self._requests: list[ReceivedRequest] = []
        self._answers: dict[tuple[str | None, str], Answer] = {}
        self._server = ThreadingHTTPServer((LOOPBACK, 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll: stop() waits up to one interval for serve_forever to notice.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def answer(
        self,
        path: str,
        *,
        status: int,
        body: bytes | Callable[[], bytes] | None = None,
        headers: tuple[tuple[str, str], ...] = (),
        content_type: str = "application/json",
        method: str | None = None,
    ) -> None:
        """Answer requests for path (any query; only `method`, if given) this way from now on."""
        with self._lock:
            self._answers[(method, path)] = Answer(status, body, headers, content_type)

    def forget_answers(self) -> None:
        with self._lock:
            self._answers.clear()

    def _answer_for(self, method: str, target: str) -> Answer:
        path = target.split("?", 1)[0]
        with self._lock:
            found = self._answers.get((method, path)) or self._answers.get((None, path))
        return found or Answer(self.status)

    def start(self) -> RecordingBackend:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output clean

            def _read_body(self) -> bytes:
                if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                    chunks: list[bytes] = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _serve(self) -> None:
                if self.path == HEALTH_PATH:
                    # The proxy's active health checks: answered, never recorded as traffic.
                    self._read_body()
                    self.send_response(backend.health_status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers: dict[str, list[str]] = {}
                for name, value in self.headers.items():
                    headers.setdefault(name.lower(), []).append(value)
                backend._record(
                    ReceivedRequest(self.command, self.path, headers, self._read_body())
                )
                answer = backend._answer_for(self.command, self.path)
                body = answer.body() if callable(answer.body) else answer.body
                if body is None:
                    body = json.dumps({"backend": backend.name, "path": self.path}).encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

        return Handler


@contextmanager
def recording_backend(name: str, *, status: int = 200) -> Iterator[RecordingBackend]:
    backend = RecordingBackend(name, status=status).start()
    try:
        yield backend
    finally:
        backend.stop()


class RawBackend:
    """Reads whatever a client sends first, answers with `payload` verbatim, and closes."""

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.connections = 0
        self._sock = socket.create_server((LOOPBACK, 0))
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                self.connections += 1
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    conn.sendall(self.payload)
                except OSError:
                    pass

    def start(self) -> RawBackend:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._sock.close()


@contextmanager
def raw_backend(payload: bytes) -> Iterator[RawBackend]:
    backend = RawBackend(payload).start()
    try:
        yield backend
    finally:
        backend.stop()
