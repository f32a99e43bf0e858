"""HTTP/2 from clients, bounded: a cancelled stream is never forwarded, and neither is a flood.

HTTP/2 rapid reset (CVE-2023-44487): a client opens a stream and cancels it at once, a thousand
times in one write. Each cancelled stream is closed for the `h2` state machine, so it never
counts against SETTINGS_MAX_CONCURRENT_STREAMS, but mitmproxy 11.0.2 still runs its `request`
hook, and Ficus's forwarder used to send every one of them upstream: measured before this
module, 1,000 cancelled streams on one connection reached legacy 1,000 times over ~950 upstream
connections in 1.7 s. Three limits, per client connection:

- **advertised**: `FicusHttp2Server` announces SETTINGS_MAX_CONCURRENT_STREAMS =
  `MAX_CONCURRENT_STREAMS` (h2 refuses a client that opens more at once);
- **never forwarded once cancelled**: when the client resets a stream (RST_STREAM) before its
  answer is ready, the stream's flow is marked at once: it gets a response the client will never
  see (so the forwarder, whose first check is `flow.response`, sends nothing) and mitmproxy's
  "Client disconnected." error (so the access logger logs `client_disconnected`, and it is counted
  in no route stats). mitmproxy reads the whole write before any `request` hook runs, so streams
  opened and cancelled in one write never leave the proxy;
- **in flight**: `proxy.mitm_patches.connection_handler` runs at most `MAX_UPSTREAM_PER_CLIENT`
  `request` hooks of one HTTP/2 connection at a time (the rest wait their turn, and a stream
  cancelled while it waits is skipped), so one client connection holds at most that many upstream
  exchanges, and so upstream connections, at once: what a browser's six HTTP/1.1 connections per
  host used to cost.

Heads: SETTINGS_MAX_HEADER_LIST_SIZE is advertised as the guard's 64 KiB (the guard answers a
larger head 431 on its stream), and h2 decodes no header list over `MAX_DECODED_HEADER_LIST`.

Pinned to mitmproxy 11.0.2's `Http2Server` and `HttpLayer` (tests/proxy/test_h2_server.py
fails if that changes): installed by replacing the name `HttpLayer` builds its server from.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, Final

import h2.events
import h2.settings
from mitmproxy import flow, http
from mitmproxy.net.http import status_codes
from mitmproxy.proxy import layers
from mitmproxy.proxy.context import Context
from mitmproxy.proxy.layers.http import HttpLayer, _http2
from mitmproxy.proxy.layers.http._base import ReceiveHttp
from mitmproxy.proxy.layers.http._events import RequestProtocolError

from proxy.guard import MAX_HEAD_BYTES

MAX_CONCURRENT_STREAMS: Final = 32
# A header list over MAX_HEAD_BYTES (advertised as SETTINGS_MAX_HEADER_LIST_SIZE) is answered
# 431 on its stream by the guard, in the client's format; one over twice that is never decoded
# whole: h2 stops at this size (counted as RFC 9113 does, 32 bytes more per field) and the
# connection is closed (GOAWAY), since a half-decoded header block leaves HPACK's state unknown.
MAX_DECODED_HEADER_LIST: Final = 2 * MAX_HEAD_BYTES
MAX_UPSTREAM_PER_CLIENT: Final = 8
CLIENT_DISCONNECTED: Final = "Client disconnected."  # mitmproxy's message, see _http1.py


CLIENT_CLOSED_REQUEST: Final = status_codes.CLIENT_CLOSED_REQUEST  # 499


def _cancelled() -> http.Response:
    # Never sent: the client reset the stream. Only the forwarder's first check reads it.
    return http.Response.make(CLIENT_CLOSED_REQUEST, b"", {})


class FicusHttp2Server(_http2.Http2Server):
    """mitmproxy's HTTP/2 server side, with Ficus's stream limit and cancelled streams marked."""

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        settings = self.h2_conn.local_settings
        settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] = MAX_CONCURRENT_STREAMS
        settings[h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE] = MAX_HEAD_BYTES
        settings.acknowledge()  # the values initiate_connection announces
        # After the acknowledgement, which would set the decoder to the advertised value.
        self.h2_conn.decoder.max_header_list_size = MAX_DECODED_HEADER_LIST
        self._http = next(x for x in reversed(context.layers) if isinstance(x, HttpLayer))

    def handle_h2_event(self, event: h2.events.Event) -> Generator[Any, Any, bool]:
        if isinstance(event, h2.events.StreamReset):
            stream = self._http.streams.get(event.stream_id)
            cancelled = getattr(stream, "flow", None)
            if isinstance(cancelled, http.HTTPFlow) and cancelled.response is None:
                cancelled.response = _cancelled()
                cancelled.error = flow.Error(CLIENT_DISCONNECTED)
                if event.stream_id not in self.streams:
                    # h2 reports a whole read's frames at once: a stream reset in the same read
                    # as its END_STREAM is closed by then, mitmproxy forgot it at END_STREAM and
                    # would drop the reset. Tell the stream, so it is ended, not answered.
                    yield ReceiveHttp(
                        RequestProtocolError(
                            event.stream_id, CLIENT_DISCONNECTED, code=CLIENT_CLOSED_REQUEST
                        )
                    )
                    return False
        return (yield from super().handle_h2_event(event))


def install() -> None:
    """Make mitmproxy's HTTP layer serve HTTP/2 clients with `FicusHttp2Server`."""
    setattr(layers.http, "Http2Server", FicusHttp2Server)  # noqa: B010 - not exported
