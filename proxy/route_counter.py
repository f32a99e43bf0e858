"""The route-stats addon: each request counted once, for the side that answered it first.

Counted by feature, method, template and side (the service's answer before any fallback, so
it runs before `proxy.responses`), and only while a control plane takes the stats
(`proxy.route_stats.StatsFlusher`). What the proxy refused itself is no route's failure.
"""

from __future__ import annotations

import time
from typing import Final

from mitmproxy import http

from proxy.flow_responses import FAILURES
from proxy.flow_state import FlowState, state_of
from proxy.runtime import Runtime

CLIENT_DISCONNECTED: Final = "Client disconnected."  # mitmproxy's message, see _http1.py


class RouteCounter:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def response(self, flow: http.HTTPFlow) -> None:
        state = state_of(flow)
        if flow.response is not None and state is not None:
            self.count(flow, state, flow.response.status_code)

    def error(self, flow: http.HTTPFlow) -> None:
        # Only with mitmproxy's own forwarding (bench/forwarders.py) does an upstream failure
        # get here (Ficus's forwarder answers every failure itself); a client that left counts
        # nowhere.
        state = state_of(flow)
        gone = flow.error is not None and flow.error.msg == CLIENT_DISCONNECTED
        if state is not None and not state.logged and not gone:
            self.count(flow, state, None)

    def count(self, flow: http.HTTPFlow, state: FlowState, status: int | None) -> None:
        """Route stats for this request, once: its route, and the side that answered first."""
        decision = state.decision
        if not self.runtime.counting or decision is None or state.counted:
            return
        state.counted = True
        route = decision.route
        self.runtime.stats.record(
            route.feature,
            flow.request.method,
            decision.template,
            "legacy" if decision.to_legacy else "service",
            # A forwarder failure (`upstream_*`) is the side's error whatever status it got.
            error=status is None or status >= 500 or state.error in FAILURES,
            latency_ms=(time.time() - flow.request.timestamp_start) * 1000,
        )
