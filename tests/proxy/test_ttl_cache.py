"""The session cache: entries expire, the size is bounded, the clock is injected."""

from __future__ import annotations

import pytest

from proxy.ttl_cache import TTLCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_it_remembers_until_the_ttl_passes():
    clock = Clock()
    cache: TTLCache[str, int] = TTLCache(ttl=5, max_entries=10, clock=clock)
    cache.put("a", 1)
    clock.now += 4.9
    assert cache.get("a") == 1
    clock.now += 0.2
    assert cache.get("a") is None
    assert len(cache) == 0


def test_a_shorter_ttl_per_entry_wins_and_a_longer_one_is_capped():
    clock = Clock()
    cache: TTLCache[str, int] = TTLCache(ttl=5, max_entries=10, clock=clock)
    cache.put("soon", 1, ttl=1)
    cache.put("capped", 2, ttl=3600)
    cache.put("expired", 3, ttl=-1)
    clock.now += 2
    assert cache.get("soon") is None
    assert cache.get("capped") == 2
    assert cache.get("expired") is None
    clock.now += 4
    assert cache.get("capped") is None


def test_it_evicts_the_oldest_entry_when_full():
    cache: TTLCache[str, int] = TTLCache(ttl=60, max_entries=2, clock=Clock())
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert cache.get("a") is None
    assert (cache.get("b"), cache.get("c")) == (2, 3)
    assert len(cache) == 2


def test_putting_again_refreshes_the_entry():
    clock = Clock()
    cache: TTLCache[str, int] = TTLCache(ttl=5, max_entries=2, clock=clock)
    cache.put("a", 1)
    clock.now += 4
    cache.put("a", 2)
    clock.now += 4
    assert cache.get("a") == 2


def test_it_refuses_a_useless_configuration():
    with pytest.raises(ValueError, match="positive"):
        TTLCache(ttl=0, max_entries=1)
    with pytest.raises(ValueError, match="positive"):
        TTLCache(ttl=1, max_entries=0)


def test_an_entry_lives_from_the_moment_it_was_read_not_from_when_it_was_put():
    # A slow lookup must not stretch the life of what it read (a session closed meanwhile).
    clock = Clock()
    cache: TTLCache[str, int] = TTLCache(ttl=0.5, max_entries=10, clock=clock)
    read_at = cache.now()
    clock.now += 0.4  # the lookup took this long
    cache.put("a", 1, since=read_at)
    clock.now += 0.11
    assert cache.get("a") is None
    cache.put("b", 2, since=cache.now() - 0.6)  # read longer ago than the ttl: not kept
    assert len(cache) == 0
