"""The identity bridge: a request routed to a service gets the signed `X-Ficus-Identity`.

Resolved from the legacy credential the sanitizer read (`proxy.session_identity`: the session
table or a who-am-I call, as the plans' `legacy_session:` says), off the event loop, positive
answers cached for half a second. No live session: no identity header, and the service answers
the legacy 401 itself. No key, or a legacy app that cannot tell now: a 503 from the proxy,
never a request forwarded without the identity it should carry.
"""

from __future__ import annotations

from collections.abc import Awaitable

from mitmproxy import http

from domain.identity import IDENTITY_HEADER, binding_for_target
from proxy.flow_responses import plain_response
from proxy.flow_state import FlowState, state_of
from proxy.runtime import Runtime
from proxy.session_identity import SessionStoreUnavailableError


class IdentityBridge:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def request(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        # Returns at once (run inline, proxy/mitm_patches/connection_handler.py) unless the route is
        # served by a service: then the awaitable adds the signed identity, which may need the
        # legacy session store.
        state = state_of(flow)
        if state is None or not state.needs_identity or flow.response is not None:
            return None
        state.needs_identity = False
        if self.runtime.identities.key is None:
            state.error = "identity_key_missing"
            flow.response = plain_response(503, "Service Unavailable", flow.request.data.path)
            return None
        return self._add_identity(flow, state)

    async def _add_identity(self, flow: http.HTTPFlow, state: FlowState) -> None:
        request = flow.request
        # Bound to the request as forwarded: the path and query were canonicalized.
        binding = binding_for_target(request.method, request.data.path)
        legacy = state.legacy_origin
        if legacy is None:
            return  # not pointed at a service: nothing to sign
        try:
            identity = await self.runtime.identities.identity_for(
                state.credential,
                state.request_id,
                binding,
                legacy=legacy,
                host=state.forwarded_host,
            )
        except SessionStoreUnavailableError as e:
            # Refuse rather than forward without identity: a 401 would log clinicians out.
            state.error = e.reason
            flow.response = plain_response(503, "Service Unavailable", request.data.path)
            return
        if identity is not None:
            request.headers[IDENTITY_HEADER] = identity
