"""An upstream that answers each request target with fixed bytes: for answers no real server
sends on purpose (`099`, a 204 with Content-Length, a huge head). Health checks get a 200."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress

from tests.support.ports import LOOPBACK

OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'


class CannedUpstream:
    def __init__(self, answers: Mapping[bytes, bytes]) -> None:
        self.answers = dict(answers)
        self.targets: list[bytes] = []  # health checks left out
        self._sock = socket.create_server((LOOPBACK, 0), backlog=64)
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._sock.getsockname()[1]}"

    def _accept_loop(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, suppress(OSError):
            conn.settimeout(10)
            buffer = b""
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            target = buffer.split(b" ", 2)[1]
            if target != b"/__ficus/health":
                self.targets.append(target)
            conn.sendall(self.answers.get(target, OK))


@contextmanager
def canned_upstream(answers: Mapping[bytes, bytes]) -> Iterator[CannedUpstream]:
    server = CannedUpstream(answers)
    server._thread.start()
    try:
        yield server
    finally:
        server._sock.close()
