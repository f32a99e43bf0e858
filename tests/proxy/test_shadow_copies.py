"""The shadow addon's `response` hook: what it pairs as legacy's answer."""

from __future__ import annotations

from mitmproxy.test import tflow, tutils

from domain.noise import ExchangeResult
from proxy.evidence_compare import compare_exchange
from proxy.evidence_store import EvidenceStore
from proxy.flow_responses import failure_response
from proxy.flow_state import attach
from proxy.runtime import Runtime
from proxy.shadow_compare import Exchange
from proxy.shadow_copies import ShadowCopies
from proxy.upstreams import Instance
from tests.proxy.evidence_support import reply, settings

PATIENT = {"id": 7, "ward": "4B"}


def shadowed_flow(error: str | None):
    """A shadowed read whose copy already answered, legacy's part still to come."""
    offered: list[Exchange] = []
    flow = tflow.tflow(req=tutils.treq(path=b"/api/patients/7"))
    state = attach(flow, error=None)
    state.exchange = Exchange("patients", "GET", "/api/patients/{id:int}", False, offered.append)
    state.exchange.settle("service", reply(PATIENT))
    if error is None:
        flow.response = tutils.tresp(content=b'{"id": 7}')
    else:  # what the forwarder does when legacy is down or its breaker is open
        state.error = error
        flow.response = failure_response(error, flow.request.data.path)
    return flow, offered


def test_when_legacy_fails_ficus_error_page_is_never_paired_as_its_answer():
    copies = ShadowCopies(Runtime())
    for error in ("upstream_unavailable", "upstream_timeout", "upstream_refused"):
        flow, offered = shadowed_flow(error)
        copies.response(flow)
        (exchange,) = offered
        assert exchange.legacy is None
        store = EvidenceStore(worker="w1", clock=lambda: 1_000_000.0)
        result = compare_exchange(exchange, settings(), store, None, max_body_bytes=10_000)
        assert result is ExchangeResult.ERROR
        assert len(store) == 0  # nothing counted, no sample of the error page


def test_legacy_s_own_answer_is_paired():
    flow, offered = shadowed_flow(None)
    ShadowCopies(Runtime()).response(flow)
    (exchange,) = offered
    assert exchange.legacy is not None
    assert exchange.legacy.body == b'{"id": 7}'


def test_a_legacy_failure_pauses_the_noise_asks_of_it():
    copies = ShadowCopies(Runtime())
    flow, _ = shadowed_flow("upstream_timeout")
    legacy = Instance(flow.request.scheme, flow.request.host, flow.request.port)
    assert copies.noise.allowed(legacy)
    copies.response(flow)
    assert not copies.noise.allowed(legacy)
