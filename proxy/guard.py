"""Refuse request heads that two HTTP parsers could read differently, before anything else runs.

mitmproxy (with `validate_inbound_headers`) already refuses the framing attacks it knows: a
Content-Length with Transfer-Encoding, an obfuscated Transfer-Encoding, a bad chunk size. What it
lets through is refused here, with a 400 and a reason the client can read:

- a header value with CR, LF, NUL or another control character but HTAB: mitmproxy unfolds
  obsolete line folding into a value that keeps its CRLF, so a folded header (obs-fold,
  RFC 9112 §5.2) is caught by the same rule; and `Transfer-Encoding:\x0bchunked`, which
  mitmproxy reads as chunked (Python's strip() eats the vertical tab) while others would not;
- a head over 64 KiB (431): mitmproxy sets no limit, and a megabyte header would otherwise
  travel on to the upstream;
- a header name that is not a token (RFC 9110 §5.1), a method that is not a token, or one that
  is not upper case (servers disagree on `get` vs `GET`); TRACE and CONNECT (405) and any
  method but GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS (501), both with `Allow`;
- a `#` anywhere in the target: a fragment is never sent, and a backend may cut the
  (untouched) query at it or not;
- on an HTTP/1 connection, a version other than HTTP/1.0 or HTTP/1.1 (505): which HTTP a
  request speaks is the connection's (`proxy.headers.speaks_http2`, its ALPN), so
  `GET / HTTP/2.0` in HTTP/1 text is not HTTP/2 (no Host needed, absolute form) but refused;
- HTTP/1.x without a Host header, or with two (RFC 9112 §3.2: "MUST respond with 400"); an
  HTTP/2 request whose Host disagrees with its `:authority`; a Host (or `:authority`) that is
  not `host[:port]` (`a b`, `user@host`), since it goes on as `X-Forwarded-Host`;
- an absolute-form target (`GET http://other/ HTTP/1.1`) naming another host than Host; the
  routing addon refuses absolute form from HTTP/1 clients in any case;
- a request target (path or query) with a byte outside visible ASCII, raw UTF-8 included
  (RFC 9112 §3.2): the legacy app's own server refuses it (gunicorn: 400), so the proxy must
  not make it acceptable by percent-encoding it on the way, not for the first hop and not for
  the fallback; and a raw byte in the query, forwarded untouched, could not be sent at all;
- a path that is not canonical (`proxy.canonical_path`): encoded slashes or backslashes, dot
  segments raw or encoded (also in a segment's name before its `;params`), `//`, NUL and
  controls, malformed escapes, overlong or invalid UTF-8. `;` path parameters pass here: only
  the route knows whether its plan allows them, so the router refuses them after routing
  unless `allow_path_params` (the legacy default route allows none).

`check_head()` is pure (bytes in, a reason or None out); `Guard` is the small mitmproxy addon
that runs it in `requestheaders`, the first hook, loaded before the other Ficus addons. A
refused flow gets the per-flow state (`proxy.flow_state`) with error `bad_request`, so it is
access-logged and not routed.

An HTTP/1 request with a chunked body is answered, then its connection is closed: nothing sent
after a chunked body on one connection is ever read as a second request.

Bodies over the configured limit are refused by mitmproxy's own `body_size_limit` (413, with
the reason), before any upstream connection: the server wires that option.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from mitmproxy import http

from proxy.canonical_path import PathError, canonicalize_path, split_target
from proxy.flow_responses import plain_response
from proxy.flow_state import attach
from proxy.headers import speaks_http2
from proxy.methods import METHODS
from proxy.upstream_http import REQUEST_TARGET

# RFC 9110 §5.6.2 token characters.
_TOKEN: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Every control character but HTAB: CR, LF and NUL (RFC 9110 §5.5 "MUST reject"), and the
# rest, which parsers strip differently (`Transfer-Encoding:\x0bchunked` is chunked to Python).
_BAD_VALUE_BYTES: Final = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# Far above any real request, far below what lets one request cost megabytes of memory.
MAX_HEAD_BYTES: Final = 64 * 1024
_ABSOLUTE: Final = re.compile(rb"[A-Za-z][A-Za-z0-9+.\-]*://([^/?#]*)(.*)", re.DOTALL)
# RFC 9110 §7.2 `uri-host [":" port]`, narrowed to what a host name or address is: an IP
# literal, or letters, digits, `-`, `.` and `_`. It is passed on as X-Forwarded-Host, from which
# backends build absolute URLs; `user@host`, spaces or quotes have no place there.
_HOST: Final = re.compile(rb"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?")
HTTP1_VERSIONS: Final = frozenset({b"HTTP/1.0", b"HTTP/1.1"})
# What the proxy forwards. TRACE echoes the request (cookies, the identity a proxy added) back
# to whoever can read the answer, and CONNECT asks a reverse proxy to be a forward one: 405.
# Any other method is unknown here and to the backends' routes: 501. Both with `Allow`.
ALLOW: Final = b", ".join(METHODS)
_KNOWN_METHODS: Final = frozenset(METHODS)
_REFUSED_METHODS: Final = frozenset({b"TRACE", b"CONNECT"})
_CLOSE_AFTER: Final = "ficus_close_after"


_REASONS: Final = {
    400: "Bad Request",
    405: "Method Not Allowed",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}


class HeadError(ValueError):
    """The request head is refused; the message is safe to show the client."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def check_head(
    method: bytes,
    target: bytes,
    headers: Sequence[tuple[bytes, bytes]],
    *,
    http2: bool = False,
    authority: bytes = b"",
    version: bytes = b"HTTP/1.1",
) -> None:
    """Raise HeadError with the reason if this request head must be refused.

    `http2`: the connection speaks HTTP/2 or /3 (its ALPN), whatever `version` claims."""
    if not http2 and version not in HTTP1_VERSIONS:
        raise HeadError("only HTTP/1.0 and HTTP/1.1 are spoken here", status=505)
    if not _TOKEN.fullmatch(method):
        raise HeadError("the method is not a valid token")
    if method != method.upper():
        raise HeadError("method names are case-sensitive; this one is not upper case")
    if method not in _KNOWN_METHODS:
        if method in _REFUSED_METHODS:
            raise HeadError(f"{method.decode()} is not allowed here", status=405)
        raise HeadError("the method is not implemented here", status=501)
    hosts: list[bytes] = []
    size = len(target) + sum(len(name) + len(value) + 4 for name, value in headers)
    if size > MAX_HEAD_BYTES:
        raise HeadError(f"the request head is larger than {MAX_HEAD_BYTES // 1024} KiB", status=431)
    for name, value in headers:
        if not _TOKEN.fullmatch(name):
            raise HeadError("a header name is not a valid token")
        if _BAD_VALUE_BYTES.search(value):
            if b"\r\n" in value and (value.split(b"\r\n", 1)[1][:1] in (b" ", b"\t")):
                raise HeadError("folded header lines (obs-fold) are not accepted")
            raise HeadError("control characters (CR, LF, NUL ...) are not allowed in header values")
        if name.lower() == b"host":
            hosts.append(value)
    if len(hosts) > 1:
        raise HeadError("more than one Host header")
    if http2:
        if hosts and authority and hosts[0].lower() != authority.lower():
            raise HeadError("the Host header and :authority disagree")
    elif not hosts:
        raise HeadError("the Host header is missing")
    host = hosts[0] if hosts else authority
    if not _HOST.fullmatch(host):
        raise HeadError("the Host is not a valid host name or address with an optional port")
    path_and_query = target
    if absolute := _ABSOLUTE.fullmatch(target):
        if absolute.group(1).lower() != host.lower():
            raise HeadError("absolute-form request targets may not name another host")
        path_and_query = absolute.group(2) or b"/"
    if method == b"OPTIONS" and target == b"*":
        return
    if b"#" in path_and_query:
        # A fragment never leaves a client (RFC 9110 §7.1); the query is forwarded untouched,
        # so a `#` there would reach a backend that may cut the query at it, or not.
        raise HeadError("a request target has no fragment: '#' must be percent-encoded")
    raw_path, _query = split_target(path_and_query)
    try:
        canonicalize_path(raw_path, allow_params=True)
    except PathError as e:
        raise HeadError(str(e)) from None
    # Last, so that a NUL, a control or bad UTF-8 in the path gets its own reason first.
    if not REQUEST_TARGET.fullmatch(target):
        raise HeadError("the request target may hold only visible ASCII; percent-encode the rest")


class Guard:
    """Runs `check_head` on every request head, before any other Ficus addon."""

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        request = flow.request
        http2 = speaks_http2(flow.client_conn.alpn)
        if not http2 and "transfer-encoding" in request.headers:
            flow.metadata[_CLOSE_AFTER] = True
        try:
            check_head(
                request.data.method,
                request.data.path,
                request.data.headers.fields,
                http2=http2,
                authority=request.data.authority,
                version=request.data.http_version,
            )
        except HeadError as e:
            _refuse(flow, e.status, f"{_REASONS[e.status]}: {e}")

    def response(self, flow: http.HTTPFlow) -> None:
        # A chunked request body is where request smuggling lives (TE.CL, obfuscated or
        # stripped Transfer-Encoding values mitmproxy normalized before any addon could see
        # them). Its body was re-framed for the upstream; closing the client connection after
        # the answer means nothing that followed the body on it is read as another request.
        if flow.metadata.get(_CLOSE_AFTER) and flow.response is not None:
            flow.response.headers["Connection"] = "close"

    def request(self, flow: http.HTTPFlow) -> None:
        # mitmproxy may deliver trailers with the body; the same rules hold for their values.
        trailers = flow.request.trailers
        if flow.response is None and trailers is not None:
            for _name, value in trailers.fields:
                if _BAD_VALUE_BYTES.search(value):
                    _refuse(
                        flow, 400, "Bad Request: control characters are not allowed in trailers"
                    )
                    return


def _refuse(flow: http.HTTPFlow, status: int, text: str) -> None:
    attach(flow, error="bad_request")
    allow = ((b"Allow", ALLOW),) if status in (405, 501) else ()
    flow.response = plain_response(status, text, flow.request.data.path, allow)
    # A refused head may hide a smuggled request in what follows: never reuse the connection.
    flow.response.headers["Connection"] = "close"


addons = [Guard()]
