"""mitmproxy's own error answers, made by the proxy instead: in the client's format, unbranded.

Some requests are refused by mitmproxy before any addon hook can answer them: a head it cannot
parse or whose framing it refuses (400: Content-Length with Transfer-Encoding, a bad
Content-Length ...), a body over `body_size_limit` (413). mitmproxy 11.0.2 answers those
itself with `make_error_response` (HTTP/1) or inline (HTTP/2): an HTML page, `Server: mitmproxy
11.0.2`, whatever face the request was for. `install()` makes those answers
`domain.answers.answer`'s, like every other answer the proxy makes (legacy JSON on /api, ...):

- `_http1.make_error_response` now returns a `_Pending` page: its status and message, and an
  HTML rendering in case nothing better is known;
- `Http1Server.read_headers` and `Http1Server.send`, the two callers, render a `_Pending`
  page for the request's target (the parsed request's, or the request line's when the head
  did not parse) and note the status for the access log (`answered_status`; a head that did
  not parse has no flow, so its line comes from `proxy.refusals`' hook, `head_unparsable`);
- `Http2Server` answers a stream's error the same way, for the target of that stream;
- a 503 (only ever the body budget's refusal, proxy/mitm_patches/body_budget.py) carries
  `Retry-After`; a 408 for a body (proxy/mitm_patches/body_deadline.py) is known by its message like
  the budget's 503;
- `format_error`, which the layers use for anything else, gives the HTML body without upstream
  text (for a 5xx its message, which may quote upstream bytes, is dropped).

Pinned to mitmproxy 11.0.2: tests/proxy/test_error_pages.py fails if this stops working.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, Final
from weakref import WeakKeyDictionary

from mitmproxy import http
from mitmproxy.net.http import http1
from mitmproxy.proxy import commands
from mitmproxy.proxy.layers.http import _http1, _http2, _http3
from mitmproxy.proxy.layers.http._base import ReceiveHttp
from mitmproxy.proxy.layers.http._events import (
    RequestHeaders,
    RequestProtocolError,
    ResponseEndOfMessage,
    ResponseProtocolError,
)
from mitmproxy.proxy.layers.http._http2 import Http2Server

from domain.answers import Answer, answer, mitmproxy_text
from proxy.mitm_patches import body_deadline
from proxy.mitm_patches.body_budget import MESSAGE, RETRY_AFTER_SECONDS, STATUS
from proxy.refusals import head_refusal

_NO_RESPONSE: Final = 444  # mitmproxy's "close without answering"
_CLOSE: Final = ((b"Connection", b"close"),)
# A body refused for the body budget (the only 503 mitmproxy is made to answer) may come back.
_RETRY: Final = {STATUS: ((b"Retry-After", b"%d" % RETRY_AFTER_SECONDS),)}
# Requests mitmproxy answered itself, and with which status: the access log's `status`.
_ANSWERED: WeakKeyDictionary[http.Request, int] = WeakKeyDictionary()

_CommandGenerator = Generator[commands.Command, Any, None]


class _Pending(bytes):
    """An error page mitmproxy asked for, to be rendered once its request's target is known."""

    status: int
    message: str


# mitmproxy runs the error hook (the access log) *before* it sends these answers, so they are
# known by the message it gives the flow (mitmproxy/proxy/layers/http/__init__.py).
_ANSWERED_AFTER_THE_HOOK: Final = (
    ("exceeds mitmproxy's body_size_limit", 413),
    ("refusing to prevent request smuggling attacks", 400),
    (MESSAGE, STATUS),
    (body_deadline.MESSAGE, body_deadline.STATUS),
)


def answered_status(request: http.Request, error: str) -> int | None:
    """The status mitmproxy answered this request with itself, if it answered it: a head it
    could not read (noted when sent), or a refusal known by its `error` message. None: the
    connection was just closed (a client gone, a broken chunked body)."""
    if (status := _ANSWERED.get(request)) is not None:
        return status
    for words, known in _ANSWERED_AFTER_THE_HOOK:
        if words in error:
            return known
    return None


def _text(status: int, message: str) -> str:
    return mitmproxy_text(status, message)


def _page(status: int, message: str, target: bytes) -> bytes:
    return _assembled(
        answer(status, _text(status, message), target, _CLOSE + _RETRY.get(status, ()))
    )


def _assembled(made: Answer) -> bytes:
    response = http.Response.make(made.status, made.body, http.Headers(made.headers))
    raw: bytes = http1.assemble_response(response)  # type: ignore[no-untyped-call]
    return raw


def _pending(status_code: int, message: str = "") -> bytes:
    page = _Pending(_page(status_code, message, b"/"))
    page.status = status_code
    page.message = message
    return page


def error_body(status_code: int, message: str) -> bytes:
    """`format_error`: the HTML body only, without upstream text."""
    return answer(status_code, _text(status_code, message), b"/").body


def page_for_head(status: int, text: str, head: bytes) -> bytes:
    """The whole answer (head and body, `Connection: close`) to a request head the proxy
    refuses before it is parsed, in the format of the target its request line names."""
    return _assembled(answer(status, text, _request_line_target(head), _CLOSE))


def _request_line_target(head: bytes) -> bytes:
    parts = head.split(b"\r\n", 1)[0].split(b"\n", 1)[0].split(b" ")
    return parts[1] if len(parts) > 1 else b"/"


def _rendering(
    original: Callable[[Any, Any], _CommandGenerator], *, peek: bool
) -> Callable[[Any, Any], _CommandGenerator]:
    """Run a Http1Server state or `send`, rendering any `_Pending` page it sends for its
    request's target; replies to the commands go back to the original generator unchanged."""

    def wrapper(self: Any, event: Any) -> _CommandGenerator:
        if not peek and not isinstance(event, ResponseProtocolError):
            return original(self, event)  # `send`: only an error event makes a page
        # read_headers consumes the head: keep its request line while it is in the buffer.
        head = bytes(self.buf) if peek and self.request is None and self.buf else b""
        return _render(self, original(self, event), head)

    return wrapper


def _render(server: Any, generator: _CommandGenerator, head: bytes) -> _CommandGenerator:
    """Drive `generator`, with each `_Pending` page it sends rendered for its request."""
    reply = None
    while True:
        try:
            command = generator.send(reply)
        except StopIteration:
            return
        if type(command) is commands.SendData and isinstance(command.data, _Pending):
            request = server.request
            pending = command.data
            if request is not None:
                _ANSWERED[request] = pending.status
                target = request.data.path
            else:
                target = _request_line_target(head)
            page = _page(pending.status, pending.message, target)
            command = commands.SendData(command.connection, page)
            if request is None:
                # No flow, so no hook of mitmproxy's: the access log hears of it from ours.
                reply = yield command
                yield head_refusal(server, head, pending.status, "head_unparsable")
                continue
        reply = yield command


def _h2_handle_event(
    original: Callable[[Any, Any], _CommandGenerator],
) -> Callable[[Any, Any], _CommandGenerator]:
    """Http2Server: answer a stream's error (413 ...) as the proxy, not as mitmproxy."""

    def wrapper(self: Http2Server, event: Any) -> _CommandGenerator:
        targets: dict[int, http.Request] = self.__dict__.setdefault("ficus_requests", {})
        if isinstance(event, ResponseProtocolError) and _h2_can_answer(self, event):
            request = targets.pop(event.stream_id, None)
            target = request.data.path if request is not None else b"/"
            if request is not None:
                _ANSWERED[request] = event.code
            made = answer(
                event.code, _text(event.code, event.message), target, _RETRY.get(event.code, ())
            )
            headers = [(b":status", b"%d" % event.code)]
            headers += [(name.lower(), value) for name, value in made.headers]
            headers.append((b"content-length", b"%d" % len(made.body)))
            self.h2_conn.send_headers(event.stream_id, headers)
            self.h2_conn.send_data(event.stream_id, made.body, end_stream=True)
            if data := self.h2_conn.data_to_send():
                yield commands.SendData(self.conn, data)
            return
        if isinstance(event, ResponseEndOfMessage | ResponseProtocolError):
            targets.pop(event.stream_id, None)  # the stream is answered: forget it
        for command in original(self, event):
            if isinstance(command, ReceiveHttp):
                received = command.event
                if isinstance(received, RequestHeaders):
                    targets[received.stream_id] = received.request
                elif isinstance(received, RequestProtocolError):
                    targets.pop(received.stream_id, None)  # the client reset the stream
            yield command

    return wrapper


def _h2_can_answer(server: Http2Server, event: ResponseProtocolError) -> bool:
    # mitmproxy's own condition for sending an error page on the stream (_http2.py).
    if server.is_closed(event.stream_id) or event.code == _NO_RESPONSE:
        return False
    stream = server.h2_conn.streams.get(event.stream_id)
    return (
        stream is not None
        and server.is_open_for_us(event.stream_id)
        and not stream.state_machine.headers_sent
    )


def install() -> None:
    """Once per process (idempotent): mitmproxy's error answers become the proxy's."""
    if getattr(_http1.Http1Server, "ficus_error_pages", False):
        return
    _http1.make_error_response = _pending
    server = _http1.Http1Server
    server.read_headers = _rendering(server.read_headers, peek=True)  # type: ignore[method-assign,assignment]
    server.send = _rendering(server.send, peek=False)  # type: ignore[method-assign,assignment]
    server.ficus_error_pages = True  # type: ignore[attr-defined]
    Http2Server._handle_event = _h2_handle_event(Http2Server._handle_event)  # type: ignore[method-assign,assignment]
    for module in (_http1, _http2, _http3):
        module.format_error = error_body  # type: ignore[attr-defined]


__all__ = ["answered_status", "error_body", "install", "page_for_head"]
