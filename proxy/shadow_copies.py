"""The shadow addon: in `shadow`, a copy of a routed request goes to the service.

The copy is sent in the background (`proxy.shadow.ShadowSender`) while legacy answers: it
never delays or fails the client's request. It carries the signed identity, and for a write a
dry-run token, so the service runs it without committing; its outcome goes to route stats on
the `shadow` side. While a control plane takes evidence, the service's answer and legacy's (at
the `response` hook) are paired in an `Exchange` and handed to the evidence recorder, which
compares them in its own thread (`proxy.evidence_recorder`); a sampled share of idempotent reads
is asked of legacy a second time, for noise, with the same bounds as the copy.
Noise asks load legacy; `proxy.shadow_noise` says when they are skipped.
"""

from __future__ import annotations

import asyncio
import time
from typing import Final

from mitmproxy import http

from domain.identity import (
    DRY_RUN_HEADER,
    IDENTITY_HEADER,
    MAX_LIFETIME_SECONDS,
    DryRun,
    binding_for_target,
    sign_dry_run,
)
from domain.plans import ShadowSettings
from domain.routes import Decision
from proxy.flow_state import FlowState, state_of
from proxy.runtime import Runtime
from proxy.session_identity import SessionStoreUnavailableError
from proxy.shadow import ShadowSender, noise_headers, shadow_headers, should_shadow
from proxy.shadow_compare import Exchange, answer_reply, flow_reply, sampled
from proxy.shadow_noise import NoiseGate
from proxy.tasks import spawn
from proxy.upstream_client import Answer
from proxy.upstreams import Instance

# Reads asked of legacy twice for noise: idempotent and without effects (RFC 9110 §9.2.1).
NOISE_METHODS: Final = frozenset({"GET", "HEAD"})


class ShadowCopies:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.shadow = ShadowSender()
        self._closing: asyncio.Task[None] | None = None
        self.noise = NoiseGate()

    def request(self, flow: http.HTTPFlow) -> None:
        state = state_of(flow)
        if state is None or not state.needs_shadow or state.decision is None:
            return
        state.needs_shadow = False
        self._shadow(flow.request, state.decision, state)

    def response(self, flow: http.HTTPFlow) -> None:
        state = state_of(flow)
        if state is None or state.exchange is None or flow.response is None:
            return
        exchange, state.exchange = state.exchange, None
        if state.error is not None:
            # Legacy failed (down, breaker open, timed out): the response is Ficus's own error
            # page, no answer of legacy's to compare. The exchange is an error, not a difference.
            self.noise.legacy_failed(_instance_of(flow.request))
            exchange.settle("legacy", None)
            return
        response = flow.response
        exchange.settle(
            "legacy",
            flow_reply(
                response.status_code,
                response.headers.fields,
                response.raw_content,
                self.shadow.max_body_bytes,
            ),
        )

    def done(self) -> asyncio.Task[None] | None:
        """Returns the task closing the shadow copies, if any.

        Not a coroutine: mitmproxy calls `done` synchronously when it unloads a script, and
        awaits an awaitable a hook returns when it calls it from the event loop (at shutdown).
        """
        if self.shadow.idle:
            return None
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return None  # no loop left: the shadow copies' sockets went with it
        self._closing = spawn(self.shadow.aclose())
        return self._closing

    def _shadow(self, request: http.Request, decision: Decision, state: FlowState) -> None:
        """Send a copy of this request to the route's service in the background, if the plan
        samples it; never waits, never fails the request."""
        runtime = self.runtime
        request_id = state.request_id
        settings = runtime.plans.shadow_settings.get(decision.feature)
        pool = runtime.plans.pools.get(decision.route.upstream)
        identities = runtime.identities
        key = identities.key
        if settings is None or pool is None or key is None:
            return
        method = request.method
        write = not decision.is_read
        if not should_shadow(decision.is_read, settings, request_id, can_sign_dry_run=True):
            return
        # A snapshot: the flow's request is re-pointed and may change after this hook.
        fields = list(request.headers.fields)
        credential, host = state.credential, state.forwarded_host
        # A shadowed request is served by legacy: the flow still points at it (who-am-I).
        legacy = Instance(request.scheme, request.data.host, request.data.port)
        binding = binding_for_target(method, request.data.path)
        instance = pool.pick()
        timeout = settings.timeout_seconds
        route = decision.route

        async def headers() -> list[tuple[bytes, bytes]] | None:
            extra: list[tuple[str, str]] = []
            try:
                identity = await identities.identity_for(
                    credential, request_id, binding, legacy=legacy, host=host
                )
            except SessionStoreUnavailableError:
                return None  # no session store: the copy would only measure a refusal
            if identity is not None:
                extra.append((IDENTITY_HEADER, identity))
            if write:
                issued = int(time.time())
                expires_at = min(issued + MAX_LIFETIME_SECONDS, int(time.time() + timeout) + 1)
                token = sign_dry_run(
                    DryRun(request_id, expires_at), key, binding=binding, issued_at=issued
                )
                extra.append((DRY_RUN_HEADER, token))
            return shadow_headers(fields, instance.authority, extra)

        recorder = runtime.evidence
        exchange = (
            None
            if recorder is None
            else Exchange(route.feature, method, route.name, write, recorder.offer)
        )

        def outcome(answer: Answer | None, latency_ms: float) -> None:
            if exchange is not None:
                exchange.settle("service", answer_reply(answer))
            if runtime.counting:
                error = answer is None or answer.status_code >= 500
                runtime.stats.record(
                    route.feature,
                    method,
                    route.name,
                    "shadow",
                    error=error,
                    latency_ms=latency_ms,
                )

        body = request.raw_content or b""
        sent = self.shadow.submit(
            route.feature,
            settings.max_in_flight,
            headers,
            instance=instance,
            method=method,
            target=request.data.path,
            body=body,
            deadline=timeout,
            outcome=outcome,
        )
        if sent is None or exchange is None:
            return
        state.exchange = exchange
        if (
            method in NOISE_METHODS
            and sampled(request_id, settings.compare.noise.sample_percent)
            and self.noise.allowed(_instance_of(request))
        ):
            self._ask_legacy_again(request, fields, body, exchange, settings)

    def _ask_legacy_again(
        self,
        request: http.Request,
        fields: list[tuple[bytes, bytes]],
        body: bytes,
        exchange: Exchange,
        settings: ShadowSettings,
    ) -> None:
        """Legacy's second answer to the same read: what differs between the two is noise."""
        copied = noise_headers(fields, request.host_header or request.host)

        async def headers() -> list[tuple[bytes, bytes]]:
            return copied

        def outcome(answer: Answer | None, latency_ms: float) -> None:
            exchange.settle("noise", answer_reply(answer))

        exchange.noise_asked = (
            self.shadow.submit(
                exchange.feature,
                settings.max_in_flight,
                headers,
                instance=_instance_of(request),
                method=request.method,
                target=request.data.path,
                body=body,
                deadline=settings.timeout_seconds,
                outcome=outcome,
                pool=f"{exchange.feature} noise",
            )
            is not None
        )


def _instance_of(request: http.Request) -> Instance:
    return Instance(request.scheme, request.host, request.port)
