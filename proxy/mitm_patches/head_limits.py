"""HTTP/1 request heads, bounded while they are read: in size (431) and in time (408).

mitmproxy 11.0.2's `Http1Server.read_headers` buffers a head until its blank line arrives, with
no limit ("FIXME: protect against header size DoS"), and no deadline but the connection's
10-minute idle watchdog, which every byte re-arms. Measured before this module: an unfinished
40 MiB head was read whole (13 s, each read copying the buffer), added 72 MiB to the proxy's RSS
and was never answered; a head trickled at 1 byte/s kept its connection as long as the client
liked. Now the 40 MiB head gets its 431 after its first 64 KiB, RSS unchanged. Two limits:

- **size**: a head (request line and headers, as sent, up to its blank line) over
  `MAX_HEAD_BYTES` (the guard's 64 KiB) is answered 431 in the client's format and the
  connection closed as soon as the buffer holds that much without the head's end: at most one
  read (64 KiB) more is ever buffered. Checked only when the buffer is over the limit, so the
  normal path pays one `len()` per read;
- **time**: the whole head must arrive within `--head-timeout` seconds (default
  `HEAD_TIMEOUT_SECONDS`) of the connection opening or of the previous answer ending. A
  partial head is then answered 408 in the client's format; an idle keep-alive connection (no
  byte of a next request) is just closed, as servers close idle connections. One mitmproxy
  wakeup per connection (re-armed only while a head is awaited), not one per request.

HTTP/2 heads are bounded by h2 itself (proxy/mitm_patches/h2_server.py sets its header list limits).
These refusals come before any request exists, so mitmproxy starts no hook for them: the layer
starts `proxy.refusals.FicusHeadRefusedHook` instead, and the access logger writes their access-log
line (`head_too_large`, `head_timeout`: the client's address, a known method, never the target or a
header). No route and no upstream hears of them. An idle connection closed is no refusal.

Pinned to mitmproxy 11.0.2's `Http1Server` and h11's `ReceiveBuffer`
(tests/proxy/test_head_limits.py fails if either changes shape).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator
from typing import Any, Final

from h11._receivebuffer import blank_line_regex
from mitmproxy import ctx
from mitmproxy.addonmanager import Loader
from mitmproxy.proxy import commands, events
from mitmproxy.proxy.layers.http import _http1

from proxy.guard import MAX_HEAD_BYTES
from proxy.mitm_patches import error_pages
from proxy.refusals import head_refusal

# Far above what a browser on a hospital network needs to send a head (milliseconds), far below
# what lets a few thousand idle sockets pin the proxy's connections for minutes.
HEAD_TIMEOUT_SECONDS: Final = 15.0
_LIMITS: Final = {"timeout": HEAD_TIMEOUT_SECONDS}  # set by HeadLimits.configure
# The guard's wording for a head it parsed (proxy/guard.py), for one it never finished.
_TOO_LARGE: Final = (
    f"Request Header Fields Too Large: the request head is larger than {MAX_HEAD_BYTES // 1024} KiB"
)

_CommandGenerator = Generator[commands.Command, Any, None]
_SINCE: Final = "ficus_head_since"  # monotonic time the head has been awaited since
_WAKEUP: Final = "ficus_head_wakeup"  # the pending RequestWakeup, if any


def head_fits(data: bytearray) -> bool:
    """Whether the head at the start of `data` ends (its blank line) within MAX_HEAD_BYTES."""
    return blank_line_regex.search(data, 0, MAX_HEAD_BYTES) is not None


def _refuse(server: Any, status: int, text: str, error: str) -> _CommandGenerator:
    """Answer `status` for the request line in the buffer, if any, log it, and close."""
    head = bytes(server.buf)
    answered = bool(head.strip())
    if answered:
        yield commands.SendData(server.conn, error_pages.page_for_head(status, text, head))
    waited = time.monotonic() - server.__dict__.get(_SINCE, time.monotonic())
    yield head_refusal(server, head, status if answered else None, error, waited)
    yield commands.Log(f"request head refused with {status}: {text}", logging.DEBUG)
    yield commands.CloseConnection(server.conn)
    server.state = server.done


def _arm(server: Any, delay: float) -> _CommandGenerator:
    wakeup = commands.RequestWakeup(delay)
    server.__dict__[_WAKEUP] = wakeup
    yield wakeup


def _awaiting_head(server: Any) -> bool:
    return server.request is None and server.state == server.read_headers


def _woken(server: Any, event: events.Wakeup) -> _CommandGenerator:
    if event.command is not server.__dict__.get(_WAKEUP):
        return  # not ours
    server.__dict__[_WAKEUP] = None
    if not _awaiting_head(server):
        return  # a request is being served; mark_done re-arms for the next head
    timeout = _LIMITS["timeout"]
    remaining = server.__dict__.get(_SINCE, 0.0) + timeout - time.monotonic()
    if remaining > 0:
        yield from _arm(server, remaining)
        return
    if server.buf:
        yield from _refuse(
            server,
            408,
            f"Request Timeout: the request head did not arrive within {timeout:g} s",
            "head_timeout",
        )
        return
    server.state = server.done  # idle keep-alive: close without an answer
    yield commands.CloseConnection(server.conn)


def _handle_event(original: Callable[[Any, Any], _CommandGenerator]) -> Callable[..., Any]:
    def wrapper(self: Any, event: Any) -> _CommandGenerator:
        if type(event) is events.Wakeup:
            return _woken(self, event)
        return original(self, event)

    return wrapper


def _start(original: Callable[[Any, Any], _CommandGenerator]) -> Callable[..., Any]:
    def wrapper(self: Any, event: Any) -> _CommandGenerator:
        yield from original(self, event)
        self.__dict__[_SINCE] = time.monotonic()
        yield from _arm(self, _LIMITS["timeout"])

    return wrapper


def _mark_done(original: Callable[..., _CommandGenerator]) -> Callable[..., Any]:
    def wrapper(self: Any, *, request: bool = False, response: bool = False) -> _CommandGenerator:
        yield from original(self, request=request, response=response)
        if self.request is None and self.state == self.read_headers:
            # Kept alive: the next head is awaited from now on.
            self.__dict__[_SINCE] = time.monotonic()
            if self.__dict__.get(_WAKEUP) is None:
                yield from _arm(self, _LIMITS["timeout"])

    return wrapper


def _read_headers(original: Callable[[Any, Any], _CommandGenerator]) -> Callable[..., Any]:
    def wrapper(self: Any, event: Any) -> _CommandGenerator:
        buf = self.buf
        # One len() per read on the normal path; the search only once the buffer is too big.
        if (
            len(buf) > MAX_HEAD_BYTES
            and type(event) is events.DataReceived
            and not head_fits(buf._data)
        ):
            return _refuse(self, 431, _TOO_LARGE, "head_too_large")
        return original(self, event)

    return wrapper


class HeadLimits:
    """Declares `ficus_head_timeout`; the limits themselves live in the HTTP/1 layer."""

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "ficus_head_timeout",
            float,
            HEAD_TIMEOUT_SECONDS,
            "Seconds a client has to send a whole HTTP/1 request head, from the connection's "
            "start or the previous answer's end; then 408 (or, with no byte sent, a close).",
        )

    def configure(self, updated: set[str]) -> None:
        self.running()

    def running(self) -> None:
        _LIMITS["timeout"] = max(0.001, float(ctx.options.ficus_head_timeout))


def install() -> None:
    """Once per process (idempotent): bound HTTP/1 heads in size and time. After
    `error_pages.install()`, so that a head it refuses is never peeked at by the error pages."""
    error_pages.install()
    server = _http1.Http1Server
    if getattr(server, "ficus_head_limits", False):
        return
    server._handle_event = _handle_event(server._handle_event)  # type: ignore[method-assign]
    # `state = start` in Http1Connection's body: the first state is the function itself.
    server.start = server.state = _start(server.start)  # type: ignore[method-assign]
    server.mark_done = _mark_done(server.mark_done)  # type: ignore[method-assign]
    server.read_headers = _read_headers(server.read_headers)  # type: ignore[method-assign]
    server.ficus_head_limits = True  # type: ignore[attr-defined]


__all__ = ["HEAD_TIMEOUT_SECONDS", "HeadLimits", "head_fits", "install"]
