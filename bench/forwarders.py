"""The benchmarks' other ways of sending upstream, against Ficus's own forwarder.

`proxy_throughput` compares Ficus's forwarder (proxy/forwarder.py) with mitmproxy's own
forwarding (no upstream timeouts) and with an `httpx.AsyncClient` per instance (no cookies
kept). Both are `Forwarder`s with another `send`; the breaker counts in every one. They are not
production code: run a proxy with one of them as

    python -m bench.forwarders --forwarding mitmproxy|httpx <proxy.server's arguments>
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Final

import httpx
from mitmproxy import ctx, http

from proxy.flow_responses import NO_BODY_STATUSES, response_headers
from proxy.forwarder import Forwarder
from proxy.route_counter import CLIENT_DISCONNECTED
from proxy.server import main as serve_main
from proxy.upstream_client import UpstreamError
from proxy.upstreams import Breaker, Instance

MAX_CONNECTIONS_PER_INSTANCE: Final = 256
MAX_KEEPALIVE_PER_INSTANCE: Final = 64
_BREAKER: Final = "ficus_breaker"


def failure_of(error: BaseException) -> str:
    """The fixed access-log reason for an httpx failure."""
    if isinstance(error, httpx.ConnectTimeout):
        return "upstream_connect_timeout"
    if isinstance(error, httpx.PoolTimeout):
        return "upstream_busy"
    if isinstance(error, httpx.TimeoutException):
        return "upstream_timeout"
    if isinstance(error, httpx.ConnectError):
        return "upstream_refused"
    if isinstance(error, httpx.ReadError | httpx.WriteError | httpx.CloseError):
        return "upstream_reset"
    return "upstream_garbage"  # RemoteProtocolError, DecodingError, anything unexpected


class _KeepNoCookies(DefaultCookiePolicy):
    """Its client serves many users, so it keeps no Set-Cookie."""

    def set_ok(self, cookie: object, request: object) -> bool:
        return False


class HttpxForwarder(Forwarder):
    def __init__(self) -> None:
        super().__init__()
        self._httpx_clients: dict[Instance, httpx.AsyncClient] = {}

    async def done(self) -> None:
        await super().done()
        httpx_clients, self._httpx_clients = self._httpx_clients, {}
        for httpx_client in httpx_clients.values():
            await httpx_client.aclose()

    def _httpx_client(self, instance: Instance) -> httpx.AsyncClient:
        client = self._httpx_clients.get(instance)
        if client is None:
            read = ctx.options.ficus_read_timeout
            client = self._httpx_clients[instance] = httpx.AsyncClient(
                timeout=httpx.Timeout(
                    connect=ctx.options.ficus_connect_timeout, read=read, write=read, pool=read
                ),
                limits=httpx.Limits(
                    max_connections=MAX_CONNECTIONS_PER_INSTANCE,
                    max_keepalive_connections=MAX_KEEPALIVE_PER_INSTANCE,
                ),
                cookies=CookieJar(policy=_KeepNoCookies()),
                trust_env=False,
                follow_redirects=False,
            )
        return client

    async def send(
        self, request: http.Request, *, read_timeout: float | None = None
    ) -> http.Response:
        # The benchmarks set no --route-limits: every request has the global read timeout.
        try:
            return await self._send_httpx(request)
        except httpx.HTTPError as e:
            raise UpstreamError(failure_of(e)) from e

    async def _send_httpx(self, request: http.Request) -> http.Response:
        instance = Instance(request.scheme, request.host, request.port)
        client = self._httpx_client(instance)
        url = httpx.URL(
            scheme=instance.scheme,
            host=instance.host,
            port=instance.port,
            raw_path=request.data.path,
        )
        outgoing = httpx.Request(
            request.method,
            url,
            headers=request.headers.fields,
            content=request.raw_content or None,
        )
        started = time.time()
        answer = await client.send(outgoing, stream=True)
        try:
            body = b"".join([chunk async for chunk in answer.aiter_raw()])
        finally:
            await answer.aclose()
        keep_length = request.method == "HEAD" or answer.status_code in NO_BODY_STATUSES
        return http.Response(
            http_version=b"HTTP/1.1",
            status_code=answer.status_code,
            reason=answer.reason_phrase.encode("latin-1", "replace"),
            headers=http.Headers(
                response_headers(answer.headers.raw, None if keep_length else len(body))
            ),
            content=body,
            trailers=None,
            timestamp_start=started,
            timestamp_end=time.time(),
        )


class MitmproxyForwarder(Forwarder):
    """Leaves the sending to mitmproxy; the breaker still counts its answers and failures."""

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return  # refused or answered by an earlier addon
        breaker = self._breaker_for(flow)
        if breaker is not None and not breaker.acquire():
            self._fail(flow, "upstream_unavailable")
            return
        flow.metadata[_BREAKER] = breaker

    def response(self, flow: http.HTTPFlow) -> None:
        breaker = flow.metadata.pop(_BREAKER, None)
        if isinstance(breaker, Breaker) and flow.response is not None:
            if flow.response.status_code >= 500:
                breaker.record_failure()
            else:
                breaker.record_success()

    def error(self, flow: http.HTTPFlow) -> None:
        breaker = flow.metadata.pop(_BREAKER, None)
        if isinstance(breaker, Breaker):
            client_gone = flow.error is not None and flow.error.msg == CLIENT_DISCONNECTED
            if client_gone:
                breaker.release()  # says nothing about the upstream
            else:
                breaker.record_failure()


FORWARDERS: Final[dict[str, type[Forwarder]]] = {
    "ficus": Forwarder,
    "httpx": HttpxForwarder,
    "mitmproxy": MitmproxyForwarder,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.forwarders")
    parser.add_argument("--forwarding", choices=sorted(FORWARDERS), required=True)
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    return serve_main(rest, FORWARDERS[args.forwarding])


if __name__ == "__main__":
    raise SystemExit(main())
