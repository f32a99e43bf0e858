"""Read-your-writes pins: which sessions just wrote to which feature through the legacy app.

While legacy owns a feature's writes, a change reaches the feature's service only when forward
sync copies it, a second or two later. A clinician who books an appointment and at once opens
it would read the service's older copy ("APPOINTMENT NOT FOUND"). So when legacy accepts a
write of feature F from a session, the proxy pins that session's reads of F to legacy for the
plan's `pin_reads_after_write_seconds`; `domain.routing.decide` honours the pins.

The memory is a bounded `TTLCache`:

- keyed by the SHA-256 of the session id, so the proxy holds no usable session token here;
- each value maps the session's pinned features to their expiry (one session may write to
  several features, each with its own window), and the entry lives as long as its latest pin;
- when full, the oldest entry goes first. A session that loses its pin that way reads from the
  service again, where the read fallback still covers a copy that has not arrived (404).

Pinning is never a security decision: a pinned read goes to legacy, which checks the session
itself, and only a write legacy accepted (a live session) creates a pin.

Pure standard library, single-threaded (the addon uses it from the event loop only); the clock
is injectable so tests can move time instead of waiting.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Final

from domain.plan_model import MAX_PIN_SECONDS
from proxy.ttl_cache import TTLCache

DEFAULT_MAX_SESSIONS: Final = 10_000


def session_key(session_id: str) -> bytes:
    """What the pins are keyed by: a digest, never the session token itself."""
    return hashlib.sha256(session_id.encode("utf-8", "surrogateescape")).digest()


class ReadPins:
    def __init__(
        self,
        *,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        max_seconds: float = MAX_PIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._cache: TTLCache[bytes, Mapping[str, float]] = TTLCache(
            ttl=max_seconds, max_entries=max_sessions, clock=clock
        )

    def pin(self, session_ids: Iterable[str], feature: str, seconds: float) -> None:
        """Send these sessions' reads of feature to legacy for the next `seconds`."""
        if seconds <= 0:
            return
        now = self._clock()
        for session_id in session_ids:
            key = session_key(session_id)
            live = {f: t for f, t in (self._cache.get(key) or {}).items() if t > now}
            live[feature] = max(live.get(feature, now), now + seconds)
            # A fresh mapping each time: values are never mutated once stored.
            self._cache.put(key, live, ttl=max(live.values()) - now)

    def pinned(self, session_ids: Iterable[str]) -> frozenset[str]:
        """The features whose reads are pinned to legacy for any of these session ids."""
        now = self._clock()
        features: set[str] = set()
        for session_id in session_ids:
            pins = self._cache.get(session_key(session_id))
            if pins:
                features.update(f for f, expires in pins.items() if expires > now)
        return frozenset(features)

    def __len__(self) -> int:
        """Sessions with a pin that may still be live (expired ones go on their next lookup)."""
        return len(self._cache)
