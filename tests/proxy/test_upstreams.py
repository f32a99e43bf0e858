"""Upstream pools: instance URLs parsed once, instances taken in turn."""

from __future__ import annotations

import pytest

from proxy.upstreams import (
    Breaker,
    BreakerState,
    Health,
    HealthSettings,
    Instance,
    InstanceStates,
    UpstreamPool,
    build_pools,
)


def test_an_instance_parses_scheme_host_and_port():
    assert Instance.parse("http://127.0.0.1:8101") == Instance("http", "127.0.0.1", 8101)
    assert Instance.parse("https://svc.internal") == Instance("https", "svc.internal", 443)
    assert Instance.parse("http://[::1]:80").host == "::1"


def test_the_authority_omits_default_ports_and_brackets_ipv6():
    assert Instance("http", "127.0.0.1", 8101).authority == "127.0.0.1:8101"
    assert Instance("http", "svc", 80).authority == "svc"
    assert Instance("https", "svc", 443).authority == "svc"
    assert Instance("http", "::1", 8101).authority == "[::1]:8101"


def test_a_pool_takes_its_instances_in_turn():
    pool = build_pools({"appointments": ["http://127.0.0.1:1", "http://127.0.0.1:2"]})[
        "appointments"
    ]
    assert [pool.pick().port for _ in range(5)] == [1, 2, 1, 2, 1]


def test_bad_urls_and_empty_pools_are_refused():
    with pytest.raises(ValueError, match="not an http"):
        Instance.parse("ftp://host")
    with pytest.raises(ValueError, match="no instances"):
        UpstreamPool("appointments", [])


def state(breaker: Breaker) -> BreakerState:
    return breaker.state  # read through a call: mypy would narrow the attribute


def healthy(health: Health) -> bool:
    return health.healthy


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_breaker_opens_after_consecutive_failures_only():
    breaker = Breaker(threshold=3, cooldown=10, clock=Clock())
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()  # the count is of consecutive failures
    breaker.record_failure()
    breaker.record_failure()
    assert state(breaker) is BreakerState.CLOSED
    breaker.record_failure()
    assert state(breaker) is BreakerState.OPEN
    assert not breaker.acquire()


def test_an_open_breaker_lets_one_probe_through_after_the_cooldown():
    clock = Clock()
    breaker = Breaker(threshold=1, cooldown=10, clock=clock)
    breaker.record_failure()
    clock.now = 9.9
    assert not breaker.available()
    clock.now = 10.0
    assert breaker.available()
    assert breaker.acquire()
    assert state(breaker) is BreakerState.HALF_OPEN
    assert not breaker.acquire()  # only one probe at a time
    breaker.record_success()
    assert state(breaker) is BreakerState.CLOSED
    assert breaker.acquire()


def test_a_failed_probe_opens_the_breaker_for_another_cooldown():
    clock = Clock()
    breaker = Breaker(threshold=5, cooldown=10, clock=clock)
    for _ in range(5):
        breaker.record_failure()
    clock.now = 10
    assert breaker.acquire()
    breaker.record_failure()  # one failure suffices when half-open
    assert state(breaker) is BreakerState.OPEN
    clock.now = 19.9
    assert not breaker.acquire()
    clock.now = 20
    assert breaker.acquire()


def test_a_probe_whose_client_left_is_retried_later():
    clock = Clock()
    breaker = Breaker(threshold=1, cooldown=1, clock=clock)
    breaker.record_failure()
    clock.now = 1
    assert breaker.acquire()
    breaker.release()
    assert state(breaker) is BreakerState.OPEN


def test_health_needs_the_configured_number_of_results_in_a_row():
    settings = HealthSettings(unhealthy_after=2, healthy_after=3)
    health = Health()
    health.record(False, settings)
    health.record(True, settings)
    health.record(False, settings)
    assert healthy(health)
    health.record(False, settings)
    assert not healthy(health)
    health.record(True, settings)
    health.record(True, settings)
    assert not healthy(health)
    health.record(True, settings)
    assert healthy(health)


def test_pick_skips_unhealthy_and_open_instances_and_falls_back_when_all_are_out():
    states = InstanceStates(threshold=1, cooldown=60, clock=Clock())
    pool = build_pools(
        {"svc": ["http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3"]},
        states=states,
    )["svc"]
    one, two, three = pool.instances
    states.breaker(one).record_failure()
    for _ in range(2):
        states.health(two).record(False, pool.health)
    assert {pool.pick() for _ in range(6)} == {three}
    states.breaker(three).record_failure()
    # Everything is out: pick() still answers, in turn, and the breaker check refuses later.
    assert {pool.pick() for _ in range(6)} == {one, two, three}


def test_the_plans_health_settings_reach_the_pool():
    class Plan:
        path = "/ping"
        interval_seconds = 0.5
        timeout_seconds = 0.25
        unhealthy_after = 4
        healthy_after = 2

    pool = build_pools({"svc": ["http://127.0.0.1:1"]}, {"svc": Plan()})["svc"]
    assert pool.health == HealthSettings("/ping", 0.5, 0.25, 4, 2)
    assert build_pools({"x": ["http://127.0.0.1:1"]})["x"].health == HealthSettings()


def test_state_survives_a_rebuild_of_the_pools():
    states = InstanceStates(threshold=1, cooldown=60, clock=Clock())
    first = build_pools({"svc": ["http://127.0.0.1:1", "http://127.0.0.1:2"]}, states=states)
    states.breaker(first["svc"].instances[0]).record_failure()
    second = build_pools({"svc": ["http://127.0.0.1:1", "http://127.0.0.1:2"]}, states=states)
    assert {second["svc"].pick().port for _ in range(4)} == {2}
