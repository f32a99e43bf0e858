"""Pairing a flow's answers: the last part to arrive offers the exchange, once."""

from __future__ import annotations

from proxy.shadow_compare import Exchange, Reply, answer_reply, flow_reply, sampled
from proxy.upstream_client import Answer

OK = Reply(200, (), b"{}")


def test_the_exchange_is_offered_when_its_last_part_arrives_in_any_order():
    offered: list[Exchange] = []
    exchange = Exchange("patients", "GET", "/api/patients/{id:int}", False, offered.append)
    exchange.noise_asked = True
    exchange.settle("service", OK)
    exchange.settle("noise", None)  # legacy's second ask failed: no noise, still complete
    assert offered == []
    exchange.settle("legacy", OK)
    exchange.settle("legacy", OK)  # a replayed hook changes nothing
    assert offered == [exchange]
    assert (exchange.noise, exchange.service) == (None, OK)


def test_a_failed_copy_is_a_part_that_arrived_with_nothing():
    offered: list[Exchange] = []
    exchange = Exchange("patients", "GET", "/t", False, offered.append)
    exchange.settle("legacy", OK)
    exchange.settle("service", answer_reply(None))
    assert offered == [exchange]
    assert exchange.service is None


def test_a_body_over_the_budget_is_not_copied():
    big = flow_reply(200, [(b"Content-Type", b"text/plain")], b"x" * 100, 10)
    assert (big.body, big.too_large) == (b"", True)
    truncated = answer_reply(Answer(200, b"OK", [], b"", body_truncated=True))
    assert truncated is not None
    assert truncated.too_large


def test_the_noise_sample_is_a_share_of_request_ids():
    ids = [f"{n:08x}{n * 7919 % 2**32:08x}" + "0" * 16 for n in range(4000)]
    share = sum(sampled(i, 25.0) for i in ids) / len(ids)
    assert 0.2 < share < 0.3
    assert all(sampled(i, 100.0) for i in ids[:10])
    assert not any(sampled(i, 0.0) for i in ids[:100])
