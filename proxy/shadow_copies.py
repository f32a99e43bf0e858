"""The shadow addon: in `shadow`, a copy of a routed request goes to the service.

The copy is sent in the background (`proxy.shadow.ShadowSender`) while legacy answers: it
never delays or fails the client's request. It carries the signed identity, and for a write a
dry-run token, so the service runs it without committing; its outcome goes to route stats on
the `shadow` side.
"""

from __future__ import annotations

import asyncio
import time

from mitmproxy import http
from sqlalchemy.exc import SQLAlchemyError

from domain.identity import (
    DRY_RUN_HEADER,
    IDENTITY_HEADER,
    MAX_LIFETIME_SECONDS,
    DryRun,
    binding_for_target,
    sign_dry_run,
)
from domain.phases import SAFE_METHODS
from domain.routes import Decision
from proxy.flow_state import FlowState, state_of
from proxy.runtime import Runtime
from proxy.shadow import ShadowSender, shadow_headers, should_shadow
from proxy.tasks import spawn


class ShadowCopies:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.shadow = ShadowSender()
        self._closing: asyncio.Task[None] | None = None

    def request(self, flow: http.HTTPFlow) -> None:
        state = state_of(flow)
        if state is None or not state.needs_shadow or state.decision is None:
            return
        state.needs_shadow = False
        self._shadow(flow.request, state.decision, state)

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
        if not should_shadow(method, settings, request_id, can_sign_dry_run=True):
            return
        # A snapshot: the flow's request is re-pointed and may change after this hook.
        fields = list(request.headers.fields)
        session_id = state.session_id
        binding = binding_for_target(method, request.data.path)
        instance = pool.pick()
        timeout = settings.timeout_seconds
        route = decision.route

        async def headers() -> list[tuple[bytes, bytes]] | None:
            extra: list[tuple[str, str]] = []
            try:
                identity = await identities.identity_for(session_id, request_id, binding)
            except SQLAlchemyError:
                return None  # no session store: the copy would only measure a refusal
            if identity is not None:
                extra.append((IDENTITY_HEADER, identity))
            if method not in SAFE_METHODS:
                issued = int(time.time())
                expires_at = min(issued + MAX_LIFETIME_SECONDS, int(time.time() + timeout) + 1)
                token = sign_dry_run(
                    DryRun(request_id, expires_at), key, binding=binding, issued_at=issued
                )
                extra.append((DRY_RUN_HEADER, token))
            return shadow_headers(fields, instance.authority, extra)

        def outcome(status: int | None, latency_ms: float) -> None:
            if runtime.counting:
                error = status is None or status >= 500
                runtime.stats.record(
                    route.feature,
                    method,
                    route.template,
                    "shadow",
                    error=error,
                    latency_ms=latency_ms,
                )

        self.shadow.submit(
            route.feature,
            settings.max_in_flight,
            headers,
            instance=instance,
            method=method,
            target=request.data.path,
            body=request.raw_content or b"",
            deadline=timeout,
            outcome=outcome,
        )
