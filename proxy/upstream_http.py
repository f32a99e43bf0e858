"""HTTP/1.1 on the upstream hop: the request's bytes, and a strict parser for the answer.

Pure: no asyncio, no mitmproxy. `proxy.forwarder.UpstreamClient` does the I/O around it.

The answer is parsed by llhttp (Node.js's HTTP parser, through `httptools`, the binding uvicorn
uses) in its strict default mode, with the rules a reverse proxy adds on top. Measured in one
run on this machine, parsing an answer this way costs a tenth of what h11 did (4.5 µs against
45 µs for a typical JSON answer), and the proxy's whole per-request cost is what the
`≤ 0.5 ms added at p50` target is about (docs/benchmarks.md).

Refused as `UpstreamGarbageError` (the forwarder answers the client a generic 502):
- anything llhttp refuses: a bad status line or status code, obsolete line folding, bare CR or
  LF, NUL or other control bytes in a header, a space before the colon, Content-Length with a
  sign, a duplicate Content-Length, Content-Length together with Transfer-Encoding, a chunk
  size that is not bare hex, a chunk not ended by CRLF (the chunk-terminator tricks);
- a version other than HTTP/1.x, `101 Switching Protocols` (nothing here upgrades), and a
  Transfer-Encoding other than exactly `chunked` (h11's rule; llhttp would read until close);
- a status code outside 100-599 (`099` would go on as `HTTP/1.1 99`);
- a head over `max_head_bytes`, however many reads it arrived in.

Interim answers (`100 Continue`, `103 Early Hints`) are skipped. Trailers are dropped. An
answer with neither Content-Length nor chunked framing ends when the upstream closes. A
connection is offered back for reuse only when the answer was complete, HTTP/1.1, not
`Connection: close`, not to a HEAD (llhttp cannot be told a body is not coming), and nothing
followed it: bytes after an answer mean the two sides disagree on framing.

The request is written as the routing addon left it: its headers were checked by mitmproxy's
parser and `proxy.guard` when they came in, and are checked again here, one regular expression
over all names and one over all values, because a bad byte on this hop would be a smuggled
request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import httptools

_TOKEN_LIST: Final = re.compile(rb"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+\n)*")
_BAD_VALUE_BYTE: Final = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_METHOD: Final = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# A request target is visible ASCII only (RFC 9112 §3.2); `proxy.guard` refuses any other
# target with 400 before routing, so that no hop re-encodes what the upstream would refuse.
REQUEST_TARGET: Final = re.compile(rb"[\x21-\x7e]+")


class UpstreamGarbageError(Exception):
    """The upstream's bytes are not an HTTP/1.1 answer Ficus will pass on."""


class BadRequestHeadError(ValueError):
    """A request Ficus itself would frame wrongly: a bug upstream of this module, never sent."""


def request_bytes(
    method: bytes, target: bytes, headers: Sequence[tuple[bytes, bytes]], body: bytes
) -> bytes:
    """The request on the wire: head, then the body framed by Content-Length.

    Raises `BadRequestHeadError` for a method, target, header name or value that could split or
    smuggle a request, for Transfer-Encoding (the body is always whole here), and for a
    Content-Length that is not the body's.
    """
    if not _METHOD.fullmatch(method) or not REQUEST_TARGET.fullmatch(target):
        raise BadRequestHeadError("bad method or target")
    # One match over all names: each is a token followed by LF. The count makes sure no name
    # carries an LF of its own (it would otherwise pass as two tokens).
    names = b"\n".join([name for name, _ in headers] + [b""])
    if names.count(b"\n") != len(headers) or not _TOKEN_LIST.fullmatch(names):
        raise BadRequestHeadError("bad header name")
    if _BAD_VALUE_BYTE.search(b"\t".join([value for _, value in headers])):
        raise BadRequestHeadError("control character in a header value")
    lines = [method, b" ", target, b" HTTP/1.1\r\n"]
    length: bytes | None = None
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"content-length":
            if length is not None or value.strip() != str(len(body)).encode("ascii"):
                raise BadRequestHeadError("Content-Length does not match the body")
            length = value
        elif lowered == b"transfer-encoding":
            raise BadRequestHeadError("Transfer-Encoding on a request with a whole body")
        lines += (name, b": ", value, b"\r\n")
    if body and length is None:
        lines += (b"Content-Length: ", str(len(body)).encode("ascii"), b"\r\n")
    lines.append(b"\r\n")
    if body:
        lines.append(body)
    return b"".join(lines)


class _StopParsing(Exception):  # noqa: N818 - a signal, not an error
    """Raised from a callback to stop llhttp once the answer is complete: after the head of an
    answer to HEAD, or when another answer begins behind it."""


class ResponseParser:
    """The answers on one connection, each fed as it arrives after `start`; `feed` and
    `feed_eof` say when it is complete. After an error, or an answer that is not `reusable`,
    the connection (and this parser) must be dropped."""

    __slots__ = (
        "_bytes_before_head",
        "_framed",
        "_head_bytes",
        "_head_done",
        "_head_only",
        "_interim",
        "_max_body_bytes",
        "_max_head_bytes",
        "_parser",
        "body",
        "body_bytes",
        "body_truncated",
        "complete",
        "headers",
        "reason",
        "reusable",
        "status_code",
    )

    def __init__(self, *, max_head_bytes: int) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._max_head_bytes = max_head_bytes
        self.start(b"GET")

    def start(self, method: bytes, *, max_body_bytes: int | None = None) -> None:
        """Expect the answer to a `method` request. llhttp itself starts again after each
        complete answer, so one parser serves a kept-alive connection's answers in turn.

        With `max_body_bytes`, a body beyond it is still parsed (the connection stays usable)
        but not kept: `body` is emptied and `body_truncated` set (shadow comparison's budget).
        """
        self._head_only = method == b"HEAD"
        self._max_body_bytes = max_body_bytes
        self.body_bytes = 0
        self.body_truncated = False
        self._bytes_before_head = 0
        self._head_bytes = 0
        self._head_done = False
        self._interim = False
        self._framed = False
        self.status_code = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.complete = False
        self.reusable = False

    def feed(self, data: bytes) -> bool:
        if not self._head_done:
            self._bytes_before_head += len(data)
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as e:
            if isinstance(e.__context__, _StopParsing):
                self.reusable = False
                return True
            if isinstance(e.__context__, UpstreamGarbageError):
                raise e.__context__ from None
            raise UpstreamGarbageError("callback failed") from None
        except httptools.HttpParserUpgrade:
            raise UpstreamGarbageError("upgrade") from None
        except httptools.HttpParserError:
            if not self.complete:
                raise UpstreamGarbageError("unparsable") from None
            self.reusable = False  # bytes after a complete answer
        if not self._head_done and self._bytes_before_head > self._max_head_bytes:
            raise UpstreamGarbageError("head too large")
        return self.complete

    def feed_eof(self) -> bool:
        """The upstream closed: complete if the answer was delimited by that close."""
        if self._head_done and not self.complete and not self._framed:
            self.complete = True
            self.reusable = False
        return self.complete

    # --- llhttp callbacks -------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.complete:
            raise _StopParsing  # a second answer to one request: none of it is read

    def on_status(self, reason: bytes) -> None:
        self.reason = reason
        self._head_bytes = len(reason) + 15  # `HTTP/1.1 200 ` and CRLF

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._head_done:  # after the head: a trailer, dropped
            self.headers.append((name, value))
            # Counted here too: a head that arrives in one read is parsed whole within one
            # feed(), before feed() can compare the bytes it was given with the limit.
            self._head_bytes += len(name) + len(value) + 4
            if self._head_bytes > self._max_head_bytes:
                raise UpstreamGarbageError("head too large")

    def on_headers_complete(self) -> None:
        parser = self._parser
        status = parser.get_status_code()
        version = parser.get_http_version()
        if not version.startswith("1."):
            raise UpstreamGarbageError("not HTTP/1.x")
        if not 100 <= status <= 599:
            # llhttp reads `099` as 99; HTTP's codes are three digits from 100 (RFC 9110 §15).
            raise UpstreamGarbageError("status code out of range")
        if 100 <= status < 200:
            if status == 101:
                raise UpstreamGarbageError("101 Switching Protocols")
            self._interim = True
            self.headers = []
            return
        self.status_code = status
        self._head_done = True
        keep_alive = version == "1.1"
        for name, value in self.headers:
            lowered = name.lower()
            if lowered == b"transfer-encoding":
                if value.strip().lower() != b"chunked":
                    raise UpstreamGarbageError("unsupported Transfer-Encoding")
                self._framed = True
            elif lowered == b"content-length":
                self._framed = True
            elif lowered == b"connection" and b"close" in value.lower():
                keep_alive = False
        self.reusable = keep_alive
        if self._head_only:
            self.complete = True
            self.reusable = False
            raise _StopParsing
        if status in (204, 304):
            self._framed = True  # no body, whatever the headers say

    def on_body(self, body: bytes) -> None:
        if self._interim:
            return
        limit = self._max_body_bytes
        if limit is None:
            self.body.append(body)
            return
        self.body_bytes += len(body)
        if self.body_bytes > limit:
            if not self.body_truncated:
                self.body_truncated = True
                self.body.clear()
        else:
            self.body.append(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        self.complete = True
