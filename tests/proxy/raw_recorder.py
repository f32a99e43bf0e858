"""Raw TCP upstreams for the proxy's hardening tests: they record bytes, not parsed requests.

`RawRecorder` keeps every byte each connection sent it, parses them strictly with h11 (server
side) to count requests, and answers each complete request with a small 200. A test can then
prove the backend received nothing, or exactly one request, exactly as the proxy should have
written it: `single_request()` fails if there were leftover bytes or a second request.

`Misbehaving` stands for a broken upstream: it accepts and never answers (`silent`), answers
garbage (`garbage`), closes at once (`reset`), or fails with 503 (`failing`); it counts
connections and requests. Backlog exhaustion (a server that never accepts) is built in the
test that needs it.

`Hostile` stands for an upstream that lies about framing, chosen per request by its `how=`
query parameter (`HOSTILE_ANSWERS`): bytes beyond the answer it declares (after an answer to
HEAD, behind a short Content-Length, after a 204), shaped as a second answer with an
attacker's `Set-Cookie` (`POISON`), or an answer a strict parser must refuse (Content-Length
with Transfer-Encoding, a header line ended by a bare LF). It keeps each connection open and
records which request targets arrived on which connection.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import h11

from tests.support.ports import LOOPBACK

HEALTH_PATH = b"/__ficus/health"
BODY = b'{"ok":true}'


@dataclass
class Exchange:
    raw: bytes = b""  # every byte the connection sent
    requests: list[tuple[h11.Request, bytes]] = field(default_factory=list)
    error: str | None = None  # h11's complaint, if the bytes were not valid HTTP/1.1


def _answer(status: int = 200, body: bytes = BODY) -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


class _Server:
    def __init__(self) -> None:
        self._sock = socket.create_server((LOOPBACK, 0), backlog=64)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._sock.close()

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve_guarded, args=(conn,), daemon=True).start()

    def _serve_guarded(self, conn: socket.socket) -> None:
        with conn, suppress(OSError):
            self.serve(conn)

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError


class RawRecorder(_Server):
    def __init__(self) -> None:
        super().__init__()
        self._exchanges: list[Exchange] = []

    def clear(self) -> None:
        """Forget what was received; connections still open keep recording into their entry."""
        with self._lock:
            for exchange in self._exchanges:
                exchange.raw, exchange.error = b"", None
                exchange.requests.clear()

    @property
    def exchanges(self) -> list[Exchange]:
        """Connections that carried traffic (health checks left out)."""
        with self._lock:
            return [
                x
                for x in self._exchanges
                if x.raw and not all(r.target == HEALTH_PATH for r, _ in x.requests)
            ]

    def requests(self) -> list[tuple[h11.Request, bytes]]:
        return [r for x in self.exchanges for r in x.requests]

    def raw(self) -> bytes:
        return b"".join(x.raw for x in self.exchanges)

    def single_request(self) -> tuple[h11.Request, bytes]:
        """The one request received; fails on a second request, leftovers or invalid bytes."""
        exchanges = self.exchanges
        assert [x.error for x in exchanges] == [None] * len(exchanges), exchanges
        requests = self.requests()
        assert len(requests) == 1, requests
        return requests[0]

    def serve(self, conn: socket.socket) -> None:
        exchange = Exchange()
        with self._lock:
            self._exchanges.append(exchange)
        parser = h11.Connection(h11.SERVER)
        conn.settimeout(10)
        body = b""
        while True:
            try:
                event = parser.next_event()
            except h11.RemoteProtocolError as e:
                exchange.error = str(e)
                return
            if event is h11.NEED_DATA:
                data = conn.recv(65536)
                with self._lock:
                    exchange.raw += data
                parser.receive_data(data)
                if not data and parser.their_state is h11.IDLE:
                    return
                continue
            if isinstance(event, h11.Request):
                request, body = event, b""
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                with self._lock:
                    exchange.requests.append((request, body))
                headers = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
                out = parser.send(h11.Response(status_code=200, headers=headers))
                out += parser.send(h11.Data(data=BODY)) + parser.send(h11.EndOfMessage())
                conn.sendall(out)
                if parser.our_state is not h11.DONE or parser.their_state is not h11.DONE:
                    return
                # Bytes after the request (a smuggled second one) are parsed as the next one.
                parser.start_next_cycle()
            elif isinstance(event, h11.ConnectionClosed):
                return


class Misbehaving(_Server):
    """An upstream that fails in one chosen way; health checks are answered 200."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.connections = 0
        self.requests: list[bytes] = []  # request heads, health checks left out

    def serve(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        buffer = b""
        counted = False
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buffer += data
            while b"\r\n\r\n" in buffer:
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                if head.split(b" ", 2)[1:2] == [HEALTH_PATH]:
                    conn.sendall(_answer(200, b""))
                    continue
                with self._lock:
                    if not counted:
                        self.connections += 1
                        counted = True
                    self.requests.append(head)
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                buffer = buffer[length:]
                if self.how == "silent":
                    self._stopped.wait(60)
                    return
                if self.how == "garbage":
                    conn.sendall(b"PATIENT DOE, JANE SSN 900-12-3456\r\n\r\n")
                    return
                if self.how == "reset":
                    # Linger 0: close with a RST, as a crashing upstream does.
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                if self.how == "failing":
                    conn.sendall(_answer(503, b'{"error":"down"}'))
                else:
                    conn.sendall(_answer())


# The bytes a hostile upstream hides behind an answer: a whole second answer, for whoever asks
# next on the same connection.
POISON = b"HTTP/1.1 200 OK\r\nSet-Cookie: SESSID=attacker\r\nContent-Length: 8\r\n\r\npoisoned"
HONEST_BODY = b'{"backend":"hostile"}'
HOSTILE_ANSWERS: dict[bytes, bytes] = {
    b"head-leftover": b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n" + POISON,
    b"short-length": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + POISON,
    b"no-content-body": b"HTTP/1.1 204 No Content\r\n\r\n" + POISON,
    b"cl-te": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nok\r\n0\r\n\r\n"
    ),
    b"bare-lf": (
        b"HTTP/1.1 200 OK\r\nX-A: 1\nSet-Cookie: SESSID=attacker\r\nContent-Length: 2\r\n\r\nok"
    ),
}


class Hostile(_Server):
    """Answers `?how=<key of HOSTILE_ANSWERS>` with that answer, anything else honestly."""

    def __init__(self) -> None:
        super().__init__()
        self.connections: list[list[bytes]] = []  # per connection, its request targets in order

    def targets(self) -> list[bytes]:
        with self._lock:
            return [t for c in self.connections for t in c if t != HEALTH_PATH]

    def serve(self, conn: socket.socket) -> None:
        conn.settimeout(30)
        targets: list[bytes] = []
        with self._lock:
            self.connections.append(targets)
        buffer = b""
        while True:
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            target = head.split(b" ", 2)[1]
            with self._lock:
                targets.append(target)
            how = target.partition(b"how=")[2].partition(b"&")[0]
            answer = HOSTILE_ANSWERS.get(how)
            if answer is None:
                length = str(len(HONEST_BODY)).encode()
                answer = (
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + length + b"\r\n\r\n" + HONEST_BODY
                )
            conn.sendall(answer)


@contextmanager
def hostile() -> Iterator[Hostile]:
    server = Hostile().start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def raw_recorder() -> Iterator[RawRecorder]:
    server = RawRecorder().start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def misbehaving(how: str) -> Iterator[Misbehaving]:
    server = Misbehaving(how).start()
    try:
        yield server
    finally:
        server.stop()
