"""The read fallback's second try: re-send a read the service failed to the legacy app, once.

DESIGN §3 (Faults): in `canary` and `migrated` the legacy route remains a read fallback. When a
service answers a read (GET, HEAD, OPTIONS) with 404 or a 5xx, the addon asks the legacy app the
same question through `LegacyRetry.send` and gives the client legacy's answer instead: while
legacy owns the writes, a 404 from the service usually means forward sync has not copied a new
record yet, and legacy has it. `proxy.routing.should_fall_back` decides when; this module only
does the sending.

Why a client of its own (httpx) rather than mitmproxy's connection: the service has already
answered on the flow's server connection, and mitmproxy offers an addon no way to send a flow a
second time from inside the response hook. One `httpx.AsyncClient` per proxy process, created on
first use (inside the event loop) and kept for keep-alive:

- no client-level defaults: the request is built as an `httpx.Request` and sent as is, so no
  `Accept-Encoding`, `User-Agent` or cookie the client did not send is added;
- a cookie jar that refuses every cookie: legacy's `Set-Cookie` goes to this client's user
  only, and is never kept for the next user;
- no environment proxies (`trust_env=False`), no redirects followed, HTTP/1.1;
- one deadline per try (`timeout`, 10 s by default) over connect, send and the whole body;
- the body is read raw (transfer framing removed, content coding kept), so `Content-Encoding`
  and `Content-Length` in legacy's headers stay true.

The request target is the canonical path and the query the service got; httpx percent-encodes a
few characters in a query that the first hop forwarded raw (`"` as `%22`, bytes above 0x7E),
which servers decode to the same query. Any failure (connect, timeout, garbage) raises
`LegacyRetryError` with no upstream text; the addon then answers a generic 502.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass
from http.cookiejar import Cookie, CookieJar, CookiePolicy
from typing import Final
from urllib.request import Request

import httpx

from proxy.headers import hop_by_hop_names
from proxy.identity import IDENTITY_HEADER
from proxy.upstreams import Instance

DEFAULT_TIMEOUT_SECONDS: Final = 10.0
_NOT_IN_TARGET: Final = re.compile(rb"[^\x21-\x7e]")
# Host is set anew; the identity is for services only; the body is already read, so nothing
# waits for a 100 Continue.
_DROPPED: Final = frozenset({"host", "expect", IDENTITY_HEADER.lower()})


class LegacyRetryError(Exception):
    """The legacy app could not be asked or did not answer; carries no upstream text."""


@dataclass(frozen=True, slots=True)
class LegacyAnswer:
    http_version: str
    status_code: int
    reason: bytes
    headers: tuple[tuple[bytes, bytes], ...]  # as legacy sent them, order and case kept
    body: bytes  # raw: still in its Content-Encoding


class NoCookies(CookiePolicy):
    """A jar policy that keeps nothing and sends nothing: the client serves many users."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: Cookie, request: Request) -> bool:
        return False

    def return_ok(self, cookie: Cookie, request: Request) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: Request) -> bool:
        return False

    def path_return_ok(self, path: str, request: Request) -> bool:
        return False


def retry_headers(
    fields: Iterable[tuple[bytes, bytes]], authority: str
) -> list[tuple[bytes, bytes]]:
    """The headers for legacy: as sent to the service, minus Host, identity, Expect and
    hop-by-hop ones, with legacy's Host first. Legacy reads its own session cookie."""
    fields = list(fields)
    connection = [v.decode("latin-1") for n, v in fields if n.lower() == b"connection"]
    drop = _DROPPED | hop_by_hop_names(connection)
    kept = [(n, v) for n, v in fields if n.decode("latin-1").lower() not in drop]
    return [(b"Host", authority.encode("idna")), *kept]


def ascii_target(raw: bytes) -> bytes:
    # httpx takes an ASCII target only: percent-encode what is not, as a browser would.
    return _NOT_IN_TARGET.sub(lambda m: b"%%%02X" % m[0][0], raw)


class LegacyRetry:
    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._closing: asyncio.Task[None] | None = None  # a reference, so it is not collected

    def _open(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout),
                cookies=CookieJar(policy=NoCookies()),
                trust_env=False,
                follow_redirects=False,
            )
        return self._client

    async def send(
        self,
        origin: Instance,
        method: str,
        target: bytes,
        headers: Iterable[tuple[bytes, bytes]],
        body: bytes,
    ) -> LegacyAnswer:
        """Send one request to origin and read the whole answer; LegacyRetryError on any failure."""
        client = self._open()
        try:
            async with asyncio.timeout(self.timeout):
                url = httpx.URL(
                    scheme=origin.scheme,
                    host=origin.host,
                    port=origin.port,
                    raw_path=ascii_target(target),
                )
                request = httpx.Request(
                    method,
                    url,
                    headers=retry_headers(headers, origin.authority),
                    content=body or None,
                )
                response = await client.send(request, stream=True)
                try:
                    content = b"".join([chunk async for chunk in response.aiter_raw()])
                finally:
                    await response.aclose()
        except (httpx.HTTPError, httpx.InvalidURL, OSError, TimeoutError, ValueError) as e:
            raise LegacyRetryError(type(e).__name__) from None
        return LegacyAnswer(
            http_version=response.http_version,
            status_code=response.status_code,
            reason=response.reason_phrase.encode("latin-1", "replace"),
            headers=tuple(response.headers.raw),
            body=content,
        )

    def close(self) -> asyncio.Task[None] | None:
        """Close the client's connections; returns the closing task for an async caller to await.

        Synchronous on purpose: mitmproxy calls `done` synchronously when a script is unloaded,
        and awaits what a hook returns when it runs in the event loop (at shutdown).
        """
        client, self._client = self._client, None
        if client is None:
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None  # no loop left: its sockets went with it
        self._closing = loop.create_task(client.aclose())
        return self._closing
