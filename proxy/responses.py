"""The response addon: fall back to legacy when a service failed a read, then finish.

1. a read that a service answered 404 or 5xx in `canary`/`migrated`, or that the forwarder
   could not get answered (`upstream_*`: refused, timed out, reset, garbage, breaker open), is
   re-sent once to the legacy app (`proxy.fallback`, its own per-try deadline), whose answer
   replaces the service's (a generic 502 if legacy cannot answer either). Writes never;
2. a write that legacy accepted (< 400) on a route of feature F pins the session's reads of F
   to legacy for the plan's `pin_reads_after_write_seconds`;
3. hop-by-hop and `X-Ficus-*` headers are removed from the answer, and the request id added.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Final

from mitmproxy import http

from domain.identity import REQUEST_ID_HEADER
from domain.routes import Decision
from domain.routing import fall_back, should_fall_back
from proxy.fallback import LegacyRetry, LegacyRetryError
from proxy.flow_responses import FAILURES, answer_response, plain_response
from proxy.flow_state import FlowState, state_of
from proxy.headers import header_values, hop_by_hop_names, without_headers
from proxy.runtime import Runtime
from proxy.upstreams import Instance

_REQUEST_ID: Final = REQUEST_ID_HEADER.encode("ascii")
_FRAMING: Final = frozenset({"connection", "transfer-encoding"})
_RESPONSE_HOP_BY_HOP: Final = hop_by_hop_names(()) - _FRAMING


class Responses:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._retry = LegacyRetry()

    def done(self) -> None:
        self._retry.close()

    def response(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        # Returns at once (proxy/mitm_patches/connection_handler.py runs it inline) unless legacy
        # must be asked a read the service failed; then the awaitable finishes the answer.
        response = flow.response
        state = state_of(flow)
        if response is None or state is None:
            return None
        decision = state.decision
        if (
            decision is not None
            # The service's answer, or the forwarder's failure to get one (refused, timed out,
            # reset, garbage, breaker open); not an answer the proxy made itself (400, 503).
            and (state.error is None or state.error in FAILURES)
            and state.legacy_origin is not None
            and not response.stream  # a streamed body has already gone to the client
            and should_fall_back(decision, response.status_code)
        ):
            return self._answer_from_legacy(flow, state, decision, state.legacy_origin)
        self._finish(state, response)
        return None

    async def _answer_from_legacy(
        self, flow: http.HTTPFlow, state: FlowState, decision: Decision, origin: Instance
    ) -> None:
        self._finish(state, await self._fall_back(flow, state, decision, origin))

    def _finish(self, state: FlowState, response: http.Response) -> None:
        if state.pin is not None and state.error is None and response.status_code < 400:
            session_id, feature, seconds = state.pin
            self.runtime.pins.pin((session_id,), feature, seconds)
        # Connection and Transfer-Encoding stay: mitmproxy frames the client hop with them.
        headers = response.headers
        fields = headers.fields
        connection = header_values(fields, b"connection")
        remove = hop_by_hop_names(connection) - _FRAMING if connection else _RESPONSE_HOP_BY_HOP
        headers.fields = (
            *without_headers(fields, remove),
            (_REQUEST_ID, state.request_id.encode("ascii")),
        )

    async def _fall_back(
        self, flow: http.HTTPFlow, state: FlowState, decision: Decision, origin: Instance
    ) -> http.Response:
        """Ask legacy the read the service failed, once; its answer becomes the flow's.

        `state.error` keeps the service's failure (`upstream_timeout` ...) when legacy answers,
        so the access log shows it next to `fallback_from`; `fallback_failed` if legacy fails.
        """
        state.decision = fall_back(decision)
        request = flow.request
        started = time.time()
        try:
            answer = await self._retry.send(
                origin,
                request.method,
                request.data.path,
                request.headers.fields,
                request.raw_content or b"",
                host=state.legacy_host,
            )
        except LegacyRetryError:
            state.error = "fallback_failed"
            response = plain_response(
                502, "Bad Gateway: the upstream could not answer", request.data.path
            )
        else:
            response = answer_response(answer, request.method, started)
        flow.response = response
        return response
