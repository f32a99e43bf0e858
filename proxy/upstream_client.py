"""The forwarder's HTTP/1.1 client: a keep-alive pool per upstream instance, with timeouts.

Each connection is an `asyncio.Protocol` that hands the bytes it receives straight to its
llhttp parser (proxy/upstream_http.py) and settles one future when the answer is complete. An
answer costs one future and one timer: no stream buffer in between, no task woken per chunk, no
`asyncio.timeout` context per request (measured in docs/benchmarks.md).

What it promises (the forwarder's docstring says why):

- a LIFO pool of at most `MAX_IDLE_PER_INSTANCE` idle connections, each dropped after
  `IDLE_SECONDS`, below common server keep-alive timeouts; a connection goes back only after a
  complete HTTP/1.1 answer with nothing behind it, and one that sends bytes while idle is
  closed;
- a connect timeout, and a read timeout counted from the request, then again from each part of
  the answer that arrives: the longest silence allowed;
- no retry, except an idempotent request (RFC 9110 §9.2.2) whose *reused* connection turned out
  closed before a single byte came back, which goes once more on a fresh connection;
- failures are `UpstreamError`s carrying a fixed reason (a key of flow_responses.FAILURES), never
  upstream bytes; a request that cannot be written as HTTP/1.1 at all is `UNSENDABLE`, which
  is not the upstream's failure (nothing was sent).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from dataclasses import dataclass
from typing import Final

from proxy.upstream_http import (
    BadRequestHeadError,
    ResponseParser,
    UpstreamGarbageError,
    request_bytes,
)
from proxy.upstreams import Instance

# The reason for a request this client refuses to write (bad target, header, framing).
UNSENDABLE: Final = "request_unsendable"
MAX_IDLE_PER_INSTANCE: Final = 64
IDLE_SECONDS: Final = 4.0
MAX_HEAD_BYTES: Final = 64 * 1024
_IDEMPOTENT: Final = frozenset({b"GET", b"HEAD", b"OPTIONS", b"TRACE", b"PUT", b"DELETE"})


class UpstreamError(Exception):
    """Sending to an upstream failed; `reason` is a key of FAILURES (no upstream text)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _StaleConnectionError(Exception):
    """The connection closed or broke before a single byte of an answer came back."""


@dataclass(slots=True)
class Answer:
    status_code: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]  # as the upstream sent them, order and case kept
    body: bytes  # transfer framing removed, content coding kept
    # The body was over the caller's `max_body_bytes`: read off the wire, not kept (body empty).
    body_truncated: bool = False


class _Connection(asyncio.Protocol):
    """One connection to an instance; at most one exchange at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser(max_head_bytes=MAX_HEAD_BYTES)
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[Answer] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._read_timeout = 0.0
        self._received_any = False

    # --- one exchange ---------------------------------------------------------------------

    def exchange(
        self, method: bytes, data: bytes, read_timeout: float, max_body_bytes: int | None = None
    ) -> asyncio.Future[Answer]:
        """Send one request; the future settles with its Answer or an error."""
        waiter: asyncio.Future[Answer] = self.loop.create_future()
        if self.closed or self.transport is None or self.transport.is_closing():
            waiter.set_exception(_StaleConnectionError())
            return waiter
        self.parser.start(method, max_body_bytes=max_body_bytes)
        self._received_any = False
        self._waiter = waiter
        self._read_timeout = read_timeout
        self.transport.write(data)  # a failing socket reports through connection_lost
        self._timer = self.loop.call_later(read_timeout, self._timed_out)
        return waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # --- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:
            self.close()  # bytes nobody asked for: nothing more can be trusted on it
            return
        self._received_any = True
        try:
            complete = self.parser.feed(data)
        except UpstreamGarbageError:
            self._fail(UpstreamError("upstream_garbage"))
            return
        if complete:
            self._succeed()
        else:
            # The silence allowed starts again with each part of the answer.
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self.loop.call_later(self._read_timeout, self._timed_out)

    def eof_received(self) -> bool:
        self._ended()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended()

    # --- settling the exchange ------------------------------------------------------------

    def _ended(self) -> None:
        self.closed = True
        if self._waiter is None:
            return
        if not self._received_any:
            self._fail(_StaleConnectionError())
        elif self.parser.feed_eof():
            self._succeed()  # an answer delimited by the close
        else:
            self._fail(UpstreamError("upstream_reset"))

    def _timed_out(self) -> None:
        self._timer = None
        self._fail(UpstreamError("upstream_timeout"))

    def _take_waiter(self) -> asyncio.Future[Answer] | None:
        waiter, self._waiter = self._waiter, None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return waiter if waiter is not None and not waiter.done() else None

    def _succeed(self) -> None:
        waiter = self._take_waiter()
        parser = self.parser
        if not parser.reusable:
            self.close()
        if waiter is not None:
            body = b"".join(parser.body)
            answer = Answer(parser.status_code, parser.reason, parser.headers, body)
            if parser.body_truncated:
                answer.body_truncated = True
            waiter.set_result(answer)

    def _fail(self, error: Exception) -> None:
        waiter = self._take_waiter()
        self.close()
        if waiter is not None:
            waiter.set_exception(error)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])
    return context


class UpstreamClient:
    """HTTP/1.1 to one instance over a small keep-alive pool, with connect and read timeouts."""

    def __init__(self, instance: Instance, *, connect_timeout: float, read_timeout: float) -> None:
        self.instance = instance
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._idle: list[_Connection] = []

    async def send(
        self,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        *,
        max_body_bytes: int | None = None,
        read_timeout: float | None = None,
    ) -> Answer:
        """One exchange; with `max_body_bytes`, a longer body is read but not kept;
        `read_timeout`: this request's own (a route's, `proxy.route_limits`), else the client's."""
        try:
            data = request_bytes(method, target, headers, body)
        except BadRequestHeadError:
            raise UpstreamError(UNSENDABLE) from None
        connection = self._take_idle()
        if connection is not None:
            try:
                return await self._exchange(connection, method, data, max_body_bytes, read_timeout)
            except _StaleConnectionError:
                if method not in _IDEMPOTENT:
                    raise UpstreamError("upstream_reset") from None
        connection = await self._connect()
        try:
            return await self._exchange(connection, method, data, max_body_bytes, read_timeout)
        except _StaleConnectionError:
            raise UpstreamError("upstream_reset") from None

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _take_idle(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if now - connection.idle_since < IDLE_SECONDS and not connection.closed:
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop),
                    self.instance.host,
                    self.instance.port,
                    # https instances: verified against the system's CAs, by host name.
                    ssl=_tls_context() if self.instance.scheme == "https" else None,
                )
        except TimeoutError:
            raise UpstreamError("upstream_connect_timeout") from None
        except OSError:
            raise UpstreamError("upstream_refused") from None
        return connection

    async def _exchange(
        self,
        connection: _Connection,
        method: bytes,
        data: bytes,
        max_body_bytes: int | None,
        read_timeout: float | None,
    ) -> Answer:
        timeout = self.read_timeout if read_timeout is None else read_timeout
        try:
            answer = await connection.exchange(method, data, timeout, max_body_bytes)
        except BaseException:
            connection.close()  # cancelled mid-exchange, or failed: never reused
            raise
        if connection.closed:
            return answer
        connection.idle_since = time.monotonic()
        if len(self._idle) < MAX_IDLE_PER_INSTANCE:
            self._idle.append(connection)
        else:
            connection.close()
        return answer
