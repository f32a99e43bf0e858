"""A small bounded cache whose entries expire: the proxy's memory of recent session lookups.

Resolving `SESSID` costs a database round trip on every request to an extracted service. A few
seconds of memory removes almost all of them while keeping a logout effective almost at once.
The size bound keeps a flood of distinct ids from growing memory: when full, the oldest entry
goes first (insertion order), which is the one closest to expiring anyway.

Only positive results should be stored: a session that just logged in must work immediately.
Pure and single-threaded: the addon touches it from the event loop only.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    def __init__(
        self, *, ttl: float, max_entries: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl <= 0 or max_entries <= 0:
            raise ValueError("ttl and max_entries must be positive")
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._clock():
            del self._entries[key]
            return None
        return value

    def put(self, key: K, value: V, *, ttl: float | None = None) -> None:
        """Remember value for ttl seconds (never longer than the cache's own ttl)."""
        lifetime = self._ttl if ttl is None else min(ttl, self._ttl)
        if lifetime <= 0:
            return
        self._entries.pop(key, None)
        while len(self._entries) >= self._max:
            self._entries.popitem(last=False)
        self._entries[key] = (self._clock() + lifetime, value)

    def __len__(self) -> int:
        return len(self._entries)
