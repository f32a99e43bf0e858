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
  longest silence while waiting for (more of) the answer, or the route's own from
  `--route-limits`, `proxy.route_limits`): both give a 504;
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

The benchmarks' other ways of sending (mitmproxy's own, httpx) are subclasses in
bench/forwarders.py that replace `send`; the breaker counts in every one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Final, Protocol

from mitmproxy import ctx, http
from mitmproxy.addonmanager import Loader

from proxy.flow_responses import (
    answer_response,
    failure_response,
    plain_response,
)
from proxy.flow_state import state_of
from proxy.route_limits import read_timeout_of
from proxy.upstream_client import UNSENDABLE, UpstreamClient, UpstreamError
from proxy.upstreams import STATES, Breaker, Instance, InstanceStates, UpstreamPool

logger = logging.getLogger(__name__)

HEALTH_TICK_SECONDS: Final = 0.1
_HEALTH_USER_AGENT: Final = (b"User-Agent", b"ficus-health-check")
# The addon holding the upstream pools (proxy.router.Router, by mitmproxy's name for it).
_ROUTER: Final = "router"


class _HasPools(Protocol):
    pools: dict[str, UpstreamPool]


class Forwarder:
    def __init__(self, *, states: InstanceStates = STATES) -> None:
        self.states = states
        self._clients: dict[Instance, UpstreamClient] = {}
        self._health_task: asyncio.Task[None] | None = None
        self._probes: dict[Instance, asyncio.Task[None]] = {}
        self._next_probe: dict[Instance, float] = {}

    # --- mitmproxy hooks -------------------------------------------------------------------

    def load(self, loader: Loader) -> None:
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
        self.configure({"ficus_breaker_failures", "ficus_breaker_cooldown"})
        self._health_task = asyncio.get_running_loop().create_task(self._health_loop())

    async def done(self) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
        for task in self._probes.values():
            task.cancel()
        clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return  # refused or answered by an earlier addon
        breaker = self._breaker_for(flow)
        if breaker is not None and not breaker.acquire():
            self._fail(flow, "upstream_unavailable")
            return
        try:
            flow.response = await self.send(flow.request, read_timeout=read_timeout_of(flow))
        except UpstreamError as e:
            error = e.reason
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

    async def send(
        self, request: http.Request, *, read_timeout: float | None = None
    ) -> http.Response:
        """The upstream's answer as the flow's response; UpstreamError with a FAILURES reason.

        `read_timeout`: the route's own (`proxy.route_limits`), else `ficus_read_timeout`."""
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
            read_timeout=read_timeout,
        )
        return answer_response(answer, request.method, started)

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
