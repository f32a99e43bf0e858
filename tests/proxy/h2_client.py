"""A raw HTTP/2 client for the proxy's tests: frames are written exactly as a test asks.

TLS with ALPN h2 (the proxy's certificate is not checked), the `h2` package's state machine on
the client side, and a reader that records each stream's status, which streams ended, the
settings the proxy announced and whether it ended the connection (GOAWAY).
"""

from __future__ import annotations

import socket
import ssl

import h2.config
import h2.connection
import h2.events

from tests.support.ports import LOOPBACK


class H2Client:
    """One HTTP/2 connection over TLS (ALPN h2), frames written exactly as asked."""

    def __init__(self, port: int) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["h2"])
        raw = socket.create_connection((LOOPBACK, port), timeout=20)
        self.sock = context.wrap_socket(raw, server_hostname="hospital.example")
        assert self.sock.selected_alpn_protocol() == "h2"
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.conn.initiate_connection()
        self.flush()
        self.statuses: dict[int, int] = {}
        self.ended: set[int] = set()
        self.server_settings: dict[int, int] = {}
        self.terminated: h2.events.ConnectionTerminated | None = None

    def flush(self) -> None:
        self.sock.sendall(self.conn.data_to_send())

    def request(self, path: str) -> int:
        stream_id = self.conn.get_next_available_stream_id()
        headers = [
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "hospital.example"),
            (":path", path),
        ]
        self.conn.send_headers(stream_id, headers, end_stream=True)
        return stream_id

    def read_until(self, done: set[int]) -> None:
        """Read frames until every stream in done has ended, or the proxy ended the connection."""
        while not done <= self.ended and self.terminated is None:
            data = self.sock.recv(65536)
            if not data:
                return
            for event in self.conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    self.statuses[event.stream_id] = int(dict(event.headers)[b":status"])
                elif isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                    self.ended.add(event.stream_id)
                elif isinstance(event, h2.events.RemoteSettingsChanged):
                    for code, changed in event.changed_settings.items():
                        self.server_settings[int(code)] = changed.new_value
                elif isinstance(event, h2.events.ConnectionTerminated):
                    self.terminated = event
            if self.terminated is None:
                self.flush()

    def close(self) -> None:
        self.sock.close()
