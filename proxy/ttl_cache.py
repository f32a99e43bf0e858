"""A small bounded cache whose entries expire: the proxy's memory of recent session lookups.

Resolving `SESSID` costs a database round trip on every request to an extracted service. Half a
second of memory removes most of them on a busy session while a logout, a deactivated user or a
cut expiry still takes effect within a second (proxy/session_identity.py, docs/proxy-hardening.md).
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

    def now(self) -> float:
        """The cache's clock: take it before reading a value, and pass it to `put` as `since`."""
        return self._clock()

    def put(
        self, key: K, value: V, *, ttl: float | None = None, since: float | None = None
    ) -> None:
        """Remember value for ttl seconds (never longer than the cache's own ttl) from `since`,
        the moment it was read (default: now). Counting from the read, not the put, keeps a
        slow read from stretching the life of what it read: a session revoked while its lookup
        was under way is forgotten as soon as one read earlier would have been."""
        lifetime = self._ttl if ttl is None else min(ttl, self._ttl)
        expires = (self._clock() if since is None else since) + lifetime
        if expires <= self._clock():
            return
        self._entries.pop(key, None)
        while len(self._entries) >= self._max:
            self._entries.popitem(last=False)
        self._entries[key] = (expires, value)

    def __len__(self) -> int:
        return len(self._entries)
