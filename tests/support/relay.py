"""A TCP relay on a loopback port in front of a real database server, to take the server
"away" from a client and bring it back: while the relay does not listen, connecting is
refused exactly as when the server is down; once it listens, bytes flow both ways.

`answers` keeps, per connection, every byte the server sent back: what a proxy in front of the
relay was given, to compare with what the proxy's client got."""

from __future__ import annotations

import contextlib
import socket
import threading

from tests.support.ports import LOOPBACK, free_port


class Relay:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self.answers: list[bytearray] = []

    def start(self) -> None:
        server = socket.create_server((LOOPBACK, self.port), reuse_port=False)
        self._server = server
        thread = threading.Thread(target=self._accept, args=(server,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            answered = bytearray()
            self.answers.append(answered)
            for a, b, kept in ((client, upstream, None), (upstream, client, answered)):
                threading.Thread(target=self._pipe, args=(a, b, kept), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket, kept: bytearray | None) -> None:
        try:
            while data := source.recv(65536):
                if kept is not None:
                    kept += data
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
