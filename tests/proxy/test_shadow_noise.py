"""Noise asks are Ficus's own load on legacy: skipped while legacy is failing."""

from __future__ import annotations

from proxy.shadow_noise import NOISE_PAUSE_SECONDS, NoiseGate
from proxy.upstreams import Instance, InstanceStates

LEGACY = Instance("http", "127.0.0.1", 8000)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_no_noise_ask_while_legacy_s_breaker_is_open():
    states = InstanceStates(threshold=1, cooldown=60.0)
    gate = NoiseGate(states=states, clock=Clock())
    assert gate.allowed(LEGACY)
    breaker = states.breaker(LEGACY)
    assert breaker.acquire()
    breaker.record_failure()
    assert not gate.allowed(LEGACY)


def test_no_noise_ask_for_a_while_after_legacy_failed_a_request():
    clock = Clock()
    gate = NoiseGate(states=InstanceStates(), clock=clock)
    gate.legacy_failed(LEGACY)
    assert not gate.allowed(LEGACY)
    assert gate.allowed(Instance("http", "127.0.0.1", 8001))  # another legacy instance
    clock.now += NOISE_PAUSE_SECONDS
    assert gate.allowed(LEGACY)
