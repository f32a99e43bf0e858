"""The read fallback's second try: re-send a read the service failed to the legacy app, once.

DESIGN §3 (Faults): in `canary` and `migrated` the legacy route remains a read fallback. When a
service answers a read (GET, HEAD, OPTIONS) with 404 or a 5xx, the addon asks the legacy app the
same question through `LegacyRetry.send` and gives the client legacy's answer instead: while
legacy owns the writes, a 404 from the service usually means forward sync has not copied a new
record yet, and legacy has it. `domain.routing.should_fall_back` decides when; this module only
does the sending.

Why not mitmproxy's connection: the service has already answered on the flow's server
connection, and mitmproxy offers an addon no way to send a flow a second time from inside the
response hook. The sending is the forwarder's own HTTP/1.1 client
(`proxy.upstream_client.UpstreamClient`, one per legacy instance, created on first use and kept
for keep-alive), so legacy's answer meets the same strict framing rules as every other answer:
bytes beyond the answer legacy declared (after a HEAD answer, behind a short Content-Length,
after a 204) close the connection rather than wait there for the next user's request, and
Content-Length with Transfer-Encoding, a bare LF or any other garbage is refused. On top of it:

- the request is written as given, with the Host legacy gets first (the client's unless
  `--legacy-host-header rewrite`): nothing the client did not send is added (no
  `Accept-Encoding`, `User-Agent`, cookie);
- no cookie is ever kept: the client has no jar, so legacy's `Set-Cookie` goes to this
  client's user only;
- one deadline per try (`timeout`, 10 s by default) over connect, send and the whole answer;
- the body is read with transfer framing removed and content coding kept.

The request target is the canonical path and the query the service got, sent as is: a target
the first hop could not send (a byte outside visible ASCII) is never re-encoded here, so legacy
is never asked a question its own server would have refused (the guard refuses such a request
with 400 before anything is sent). Any failure (connect, timeout, garbage) raises
`LegacyRetryError` with no upstream text; the addon then answers a generic 502.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Final

from domain.identity import IDENTITY_HEADER
from proxy.headers import hop_by_hop_names
from proxy.upstream_client import Answer, UpstreamClient, UpstreamError
from proxy.upstreams import Instance

DEFAULT_TIMEOUT_SECONDS: Final = 10.0
# Host is set anew; the identity is for services only; the body is already read, so nothing
# waits for a 100 Continue.
_DROPPED: Final = frozenset({"host", "expect", IDENTITY_HEADER.lower()})


class LegacyRetryError(Exception):
    """The legacy app could not be asked or did not answer; carries no upstream text."""


def retry_headers(
    fields: Iterable[tuple[bytes, bytes]], authority: str
) -> list[tuple[bytes, bytes]]:
    """The headers for legacy: as sent to the service, minus Host, identity, Expect and
    hop-by-hop ones, with `authority` (the Host legacy gets) first. Legacy reads its own
    session cookie."""
    fields = list(fields)
    connection = [v.decode("latin-1") for n, v in fields if n.lower() == b"connection"]
    drop = _DROPPED | hop_by_hop_names(connection)
    kept = [(n, v) for n, v in fields if n.decode("latin-1").lower() not in drop]
    return [(b"Host", authority.encode("idna")), *kept]


class LegacyRetry:
    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.timeout = timeout
        self._clients: dict[Instance, UpstreamClient] = {}

    def _client(self, origin: Instance) -> UpstreamClient:
        client = self._clients.get(origin)
        if client is None:
            client = self._clients[origin] = UpstreamClient(
                origin, connect_timeout=self.timeout, read_timeout=self.timeout
            )
        return client

    async def send(
        self,
        origin: Instance,
        method: str,
        target: bytes,
        headers: Iterable[tuple[bytes, bytes]],
        body: bytes,
        *,
        host: str | None = None,
    ) -> Answer:
        """Send one request to origin and read the whole answer; LegacyRetryError on any failure.

        `host`: the Host legacy gets (the client's, `proxy.host_header`); origin's by default."""
        client = self._client(origin)
        fields = retry_headers(headers, host or origin.authority)
        try:
            async with asyncio.timeout(self.timeout):
                return await client.send(method.encode("ascii"), target, fields, body)
        except (UpstreamError, TimeoutError, UnicodeEncodeError) as e:
            raise LegacyRetryError(type(e).__name__) from None

    def close(self) -> None:
        """Close the kept-alive connections (synchronous: closing a socket needs no await)."""
        clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()
