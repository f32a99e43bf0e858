"""The access-log addon: one JSON line per request, however it ended.

Answered (the `response` hook, last of Ficus's), failed or left by the client (`error`), or refused
by mitmproxy before any request hook: a malformed head or body, with the status it answered
(`proxy.mitm_patches.error_pages`), or a head refused while it was read (`ficus_head_refused`).
"""

from __future__ import annotations

import time
from typing import Final

from mitmproxy import http

from domain.routes import Decision
from proxy.access_log import NONE, AccessRecord, iso_timestamp, refused_record
from proxy.flow_state import FlowState, new_request_id, state_of
from proxy.metrics import UNROUTED, ProxyMetrics
from proxy.mitm_patches import error_pages
from proxy.refusals import HeadRefusal
from proxy.route_counter import CLIENT_DISCONNECTED
from proxy.runtime import Runtime

# The access log's `error` for what mitmproxy answered itself, by status (else bad_request):
# 503 is a body refused for the body budget (proxy/mitm_patches/body_budget.py), nobody's failure.
_MITMPROXY_ERRORS: Final = {408: "body_timeout", 413: "body_too_large", 503: "bodies_over_budget"}


class AccessLogger:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def response(self, flow: http.HTTPFlow) -> None:
        state = state_of(flow)
        if flow.response is not None and state is not None:
            self._log(flow, state, flow.response.status_code)

    def error(self, flow: http.HTTPFlow) -> None:
        state = state_of(flow)
        gone = flow.error is not None and flow.error.msg == CLIENT_DISCONNECTED
        if state is None:
            # Refused by mitmproxy before the request hook (malformed head or body): with the status
            # it answered, if it answered (a broken chunked body is just closed); or gone before it
            # (an HTTP/2 stream the client reset at once: proxy/mitm_patches/h2_server.py).
            if gone:
                self._log(flow, FlowState(new_request_id(), error="client_disconnected"), None)
                return
            message = flow.error.msg if flow.error is not None else ""
            status = error_pages.answered_status(flow.request, message)
            error = _MITMPROXY_ERRORS.get(status or 0, "bad_request")
            self._log(flow, FlowState(new_request_id(), error=error), status)
            return
        if state.logged:
            return  # answered and logged; the client left while the answer was sent
        if gone:
            state.error = "client_disconnected"
            self._log(flow, state, None)
            return
        # Only with mitmproxy's own forwarding (bench/forwarders.py): Ficus's forwarder answers
        # every failure itself (a 502/503/504 with its `upstream_*` reason), and the response
        # hook logs it.
        state.error = "upstream_failed"
        self._log(flow, state, 502)

    def ficus_head_refused(self, refusal: HeadRefusal) -> None:
        """A head refused while it was read (proxy/mitm_patches/head_limits.py): a line in the
        access log, as for any refusal before routing; no flow, so no route stats and no
        breaker."""
        access_log = self.runtime.access_log
        if access_log is not None:
            access_log.write(
                refused_record(
                    started=refusal.started,
                    request_id=new_request_id(),
                    method=refusal.method,
                    status=refusal.status,
                    error=refusal.error,
                    client=refusal.client,
                    now=time.time(),
                )
            )
        if (metrics := self.runtime.metrics) is not None:
            _count(metrics, refusal.method, None, refusal.status, refusal.started)

    def _log(self, flow: http.HTTPFlow, state: FlowState, status: int | None) -> None:
        state.logged = True
        decision = state.decision
        started = flow.request.timestamp_start
        if (metrics := self.runtime.metrics) is not None:
            _count(metrics, flow.request.method, decision, status, started)
        access_log = self.runtime.access_log
        if access_log is None:
            return
        if decision is None:
            peer = flow.client_conn.peername
            record = refused_record(
                started=started,
                request_id=state.request_id,
                method=flow.request.method,
                status=status,
                error=state.error,
                client=str(peer[0]) if peer else NONE,
                now=time.time(),
            )
        else:
            record = AccessRecord(
                ts=iso_timestamp(started),
                request_id=state.request_id,
                method=flow.request.method,
                route=decision.template,
                feature=decision.feature,
                upstream=decision.upstream,
                phase=decision.phase.value,
                reason=decision.reason.value,
                status=status,
                duration_ms=round((time.time() - started) * 1000, 1),
                error=state.error,
                fallback_from=decision.fallback_from,
            )
        access_log.write(record)


def _count(
    metrics: ProxyMetrics,
    method: str,
    decision: Decision | None,
    status: int | None,
    started: float,
) -> None:
    """The request's metrics: by route template (never the path), and its fallback if any."""
    elapsed_ms = (time.time() - started) * 1000
    if decision is None:
        metrics.observe(UNROUTED, UNROUTED, method, UNROUTED, UNROUTED, "proxy", status, elapsed_ms)
        return
    feature, template = decision.feature, decision.template
    side = "legacy" if decision.to_legacy else "service"
    metrics.observe(
        feature, template, method, decision.upstream, decision.phase.value, side, status, elapsed_ms
    )
    if decision.fallback_from is not None:
        metrics.fell_back(feature, template, decision.fallback_from)
