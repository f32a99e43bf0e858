"""Forward a routed flow to its upstream with timeouts, a circuit breaker and health checks.

Loaded after Ficus's other addons (proxy/addon.py, proxy/server.py). By then the flow's
request is sanitized (hop-by-hop and client `X-Ficus-*` headers gone, body re-framed with
Content-Length) and pointed at one instance with the canonical path. mitmproxy 11.0.2 would
forward it with no connect or read timeout (a silent upstream holds the client for its
10-minute idle timeout) and reports failures with texts that quote upstream bytes. So this
addon sends the request itself, in its `request` hook, and sets `flow.response`; mitmproxy then
never opens a server connection for the flow.

Why a small HTTP/1.1 client of its own (proxy/upstream_client.py: an asyncio protocol per
connection, and llhttp through `httptools` to parse the answer, see proxy/upstream_http.py):
measured in one run on this machine (docs/benchmarks.md), forwarding through
`httpx.AsyncClient` made the proxy about 5x slower than mitmproxy's own forwarding, while this
client is faster than mitmproxy's. It does only what a reverse proxy needs:

- a keep-alive pool per instance (LIFO, at most `MAX_IDLE_PER_INSTANCE` idle connections, each
  dropped after `IDLE_SECONDS`, below common server keep-alive timeouts); the request is sent
  exactly as the routing addon left it (with exactly one Host, also for HTTP/2 clients);
- a connect timeout (`ficus_connect_timeout`) and a read timeout (`ficus_read_timeout`: the
  longest silence while waiting for (more of) the answer): both give a 504;
- a refused or reset connection, and an answer that is not HTTP/1.1 (the parser refuses it:
  bad status line, bad framing, obsolete folding, a chunk-terminator trick, a second answer
  behind the first), give a 502; every body is generic and fixed, upstream bytes are never
  echoed;
- no retry, except an idempotent request (RFC 9110 §9.2.2) whose *reused* keep-alive connection
  turned out closed before a single byte came back, which goes once more on a fresh connection
  (the race every keep-alive client has with a server closing an idle connection). A POST is
  never sent twice. A read a service failed (any failure below, or a 404/5xx answer) is
  retried at most once, against legacy, by the fallback in `proxy.responses`.

For extracted services (not the legacy app, whose single instance has nowhere else to go) a
per-instance breaker (`proxy.upstreams.Breaker`) counts consecutive 5xx answers and transport
failures; while it is open, requests get a 503 at once. Active health checks probe every pool
instance's health path in the background, with the same client on a fresh connection per
probe; `UpstreamPool.pick()` skips what they mark down. The read fallback (proxy/fallback.py)
and shadow copies (proxy/shadow.py) send with this client too: one set of framing rules for
everything the proxy sends upstream, and `answer_response` turns an answer into the flow's. The
failure reason goes to the access log through the per-flow state
(`proxy.flow_state.state_of(flow).error`) as one of the fixed strings in
`proxy.flow_responses.FAILURES`.

`ficus_forwarding=mitmproxy` switches the sending back to mitmproxy (no timeouts), and `httpx`
to an httpx.AsyncClient per instance (no cookies kept), only for the benchmarks that compare
the three; the breaker counts in every mode. Nothing else in the proxy uses httpx.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Final, Protocol

import httpx
from mitmproxy import ctx, http
from mitmproxy.addonmanager import Loader

from proxy.flow_responses import (
    NO_BODY_STATUSES,
    answer_response,
    failure_response,
    plain_response,
    response_headers,
)
from proxy.flow_state import state_of
from proxy.upstream_client import UNSENDABLE, UpstreamClient, UpstreamError
from proxy.upstreams import STATES, Breaker, Instance, InstanceStates, UpstreamPool

logger = logging.getLogger(__name__)

FICUS: Final = "ficus"
HTTPX: Final = "httpx"
MITMPROXY: Final = "mitmproxy"
MAX_CONNECTIONS_PER_INSTANCE: Final = 256
MAX_KEEPALIVE_PER_INSTANCE: Final = 64
HEALTH_TICK_SECONDS: Final = 0.1
_HEALTH_USER_AGENT: Final = (b"User-Agent", b"ficus-health-check")
# The addon holding the upstream pools (proxy.router.Router, by mitmproxy's name for it).
_ROUTER: Final = "router"
CLIENT_DISCONNECTED: Final = "Client disconnected."  # mitmproxy's message, see _http1.py


class _HasPools(Protocol):
    pools: dict[str, UpstreamPool]


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
    """httpx forwarding only: its client serves many users, so it keeps no Set-Cookie."""

    def set_ok(self, cookie: object, request: object) -> bool:
        return False


class Forwarder:
    def __init__(self, *, states: InstanceStates = STATES) -> None:
        self.states = states
        self._clients: dict[Instance, UpstreamClient] = {}
        self._httpx_clients: dict[Instance, httpx.AsyncClient] = {}
        self._health_task: asyncio.Task[None] | None = None
        self._probes: dict[Instance, asyncio.Task[None]] = {}
        self._next_probe: dict[Instance, float] = {}
        self._mode = FICUS  # ficus_forwarding: read in configure, not on every request

    # --- mitmproxy hooks -------------------------------------------------------------------

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "ficus_forwarding",
            str,
            FICUS,
            "Who sends requests upstream: 'ficus' (Ficus's forwarder, with timeouts); "
            "'httpx' or 'mitmproxy' (mitmproxy's own, no upstream timeouts) for comparisons.",
            choices=[FICUS, HTTPX, MITMPROXY],
        )
        loader.add_option(
            "ficus_connect_timeout",
            float,
            3.0,
            "Seconds to open a connection to an upstream before answering 504.",
        )
        loader.add_option(
            "ficus_read_timeout",
            float,
            30.0,
            "Seconds an upstream may stay silent while the proxy waits for (more of) its "
            "answer before the client gets a 504.",
        )
        loader.add_option(
            "ficus_breaker_failures",
            int,
            5,
            "Consecutive 5xx answers or connection failures that open an instance's breaker.",
        )
        loader.add_option(
            "ficus_breaker_cooldown",
            float,
            10.0,
            "Seconds an open breaker refuses requests before one half-open probe is let through.",
        )

    def configure(self, updated: set[str]) -> None:
        if "ficus_forwarding" in updated:
            self._mode = ctx.options.ficus_forwarding
        if updated & {"ficus_breaker_failures", "ficus_breaker_cooldown"}:
            self.states.configure(
                threshold=max(1, ctx.options.ficus_breaker_failures),
                cooldown=max(0.0, ctx.options.ficus_breaker_cooldown),
            )
        if updated & {"ficus_connect_timeout", "ficus_read_timeout"}:
            for client in self._clients.values():
                client.connect_timeout = ctx.options.ficus_connect_timeout
                client.read_timeout = ctx.options.ficus_read_timeout

    def running(self) -> None:
        # Options set while this addon was being added reach no configure() of ours (mitmproxy
        # applies them before it joins the chain): apply them all once now.
        self.configure({"ficus_forwarding", "ficus_breaker_failures", "ficus_breaker_cooldown"})
        self._health_task = asyncio.get_running_loop().create_task(self._health_loop())

    async def done(self) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
        for task in self._probes.values():
            task.cancel()
        clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()
        httpx_clients, self._httpx_clients = self._httpx_clients, {}
        for httpx_client in httpx_clients.values():
            await httpx_client.aclose()

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return  # refused or answered by an earlier addon
        breaker = self._breaker_for(flow)
        if breaker is not None and not breaker.acquire():
            self._fail(flow, "upstream_unavailable")
            return
        mode = self._mode
        if mode == MITMPROXY:
            flow.metadata["ficus_breaker"] = breaker
            return
        try:
            if mode == FICUS:
                flow.response = await self._send(flow.request)
            else:
                flow.response = await self._send_httpx(flow.request)
        except (httpx.HTTPError, UpstreamError) as e:
            error = e.reason if isinstance(e, UpstreamError) else failure_of(e)
            if error == UNSENDABLE:
                # Nothing was sent: the proxy's own refusal, no verdict on the upstream.
                if breaker is not None:
                    breaker.release()
                self._refuse(flow)
                return
            self._fail(flow, error)
            if breaker is not None and error != "upstream_busy":
                breaker.record_failure()
            return
        except BaseException:
            if breaker is not None:
                breaker.release()
            raise
        if breaker is not None:
            if flow.response.status_code >= 500:
                breaker.record_failure()
            else:
                breaker.record_success()

    def response(self, flow: http.HTTPFlow) -> None:
        # Only in mitmproxy-forwarding mode: count the answer for the breaker.
        breaker = flow.metadata.pop("ficus_breaker", None)
        if isinstance(breaker, Breaker) and flow.response is not None:
            if flow.response.status_code >= 500:
                breaker.record_failure()
            else:
                breaker.record_success()

    def error(self, flow: http.HTTPFlow) -> None:
        breaker = flow.metadata.pop("ficus_breaker", None)
        if isinstance(breaker, Breaker):
            client_gone = flow.error is not None and flow.error.msg == CLIENT_DISCONNECTED
            if client_gone:
                breaker.release()  # says nothing about the upstream
            else:
                breaker.record_failure()

    # --- forwarding --------------------------------------------------------------------

    def _breaker_for(self, flow: http.HTTPFlow) -> Breaker | None:
        state = state_of(flow)
        decision = state.decision if state is not None else None
        if decision is None or decision.to_legacy:
            return None
        request = flow.request
        return self.states.breaker(Instance(request.scheme, request.host, request.port))

    def _fail(self, flow: http.HTTPFlow, error: str) -> None:
        state = state_of(flow)
        if state is not None:
            state.error = error
        flow.response = failure_response(error, flow.request.data.path)

    def _refuse(self, flow: http.HTTPFlow) -> None:
        """A 400 like the guard's, logged as `bad_request` and kept out of route stats."""
        state = state_of(flow)
        if state is not None:
            state.error = "bad_request"
            state.counted = True  # the proxy refused it: nothing for the route's gates
        flow.response = plain_response(
            400, "Bad Request: the request cannot be forwarded", flow.request.data.path
        )

    async def _send(self, request: http.Request) -> http.Response:
        instance = Instance(request.scheme, request.host, request.port)
        client = self._clients.get(instance)
        if client is None:
            client = self._clients[instance] = UpstreamClient(
                instance,
                connect_timeout=ctx.options.ficus_connect_timeout,
                read_timeout=ctx.options.ficus_read_timeout,
            )
        # The router left exactly one Host (`proxy.headers.single_host`), also for HTTP/2.
        started = time.time()
        answer = await client.send(
            request.data.method,
            request.data.path,
            list(request.headers.fields),
            request.raw_content or b"",
        )
        return answer_response(answer, request.method, started)

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

    # --- active health checks ----------------------------------------------------------

    def _pools(self) -> Iterable[UpstreamPool]:
        addon: _HasPools | None = ctx.master.addons.get(_ROUTER)  # type: ignore[no-untyped-call]
        return tuple(addon.pools.values()) if addon is not None else ()

    async def _health_loop(self) -> None:
        while True:
            now = time.monotonic()
            for pool in self._pools():
                for instance in pool.instances:
                    if self._next_probe.get(instance, 0.0) > now or instance in self._probes:
                        continue
                    self._next_probe[instance] = now + pool.health.interval_seconds
                    self._probes[instance] = asyncio.get_running_loop().create_task(
                        self._probe(pool, instance)
                    )
            await asyncio.sleep(HEALTH_TICK_SECONDS)

    async def _probe(self, pool: UpstreamPool, instance: Instance) -> None:
        settings = pool.health
        # The forwarder's own client, so a probe meets the same framing rules as a request;
        # one per probe, closed after it: each probe connects afresh.
        prober = UpstreamClient(
            instance,
            connect_timeout=settings.timeout_seconds,
            read_timeout=settings.timeout_seconds,
        )
        headers = [(b"Host", instance.authority.encode("idna")), _HEALTH_USER_AGENT]
        ok = False
        try:
            async with asyncio.timeout(settings.timeout_seconds):
                answer = await prober.send(b"GET", settings.path.encode("ascii"), headers, b"")
            ok = 200 <= answer.status_code < 300
        except (UpstreamError, TimeoutError, UnicodeEncodeError):
            ok = False
        finally:
            prober.close()
            self._probes.pop(instance, None)
        health = self.states.health(instance)
        was = health.healthy
        health.record(ok, settings)
        if was != health.healthy:
            logger.warning(
                "upstream %s instance %s is now %s",
                pool.name,
                instance.url,
                "healthy" if health.healthy else "unhealthy",
            )


addons = [Forwarder()]
