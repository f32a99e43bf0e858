"""The identity bridge's core: a legacy session id in, a signed X-Ficus-Identity out.

The session is read from the legacy database off the event loop, and positive answers are
cached for half a second: a logout, a deactivated user or a cut expiry reaches the services
within that long (counted from the lookup that read the session), well inside 1 s with the
request in flight; a busy session still costs at most two lookups a second.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Final

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import ArgumentError

from domain.identity import DEFAULT_TTL_SECONDS, Binding, Identity, check_key, sign_identity
from legacy_adapter.sessions import LegacySession, LegacySessionStore
from proxy.ttl_cache import TTLCache

SESSION_CACHE_SECONDS: Final = 0.5
SESSION_CACHE_ENTRIES: Final = 10_000


class SessionIdentities:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # The HMAC key shared with the services; None until configured (routes to services
        # then answer 503).
        self.key: bytes | None = None
        self._engine: Engine | None = None
        self._sessions: LegacySessionStore | None = None
        self._cache: TTLCache[str, LegacySession] = self._new_cache()

    def set_key(self, raw: str) -> None:
        """ValueError if the key is too short; an empty one means no key."""
        self.key = check_key(raw.encode()) if raw else None

    def open(self, url: str) -> None:
        """Read sessions from the legacy database at `url`; ValueError if it is no URL."""
        try:
            engine = create_engine(url, pool_pre_ping=True)
        except (ArgumentError, ImportError, ValueError) as e:
            raise ValueError(str(e)) from e
        self.close()
        self._engine = engine
        self._sessions = LegacySessionStore(engine)
        self._cache = self._new_cache()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _new_cache(self) -> TTLCache[str, LegacySession]:
        return TTLCache(
            ttl=SESSION_CACHE_SECONDS, max_entries=SESSION_CACHE_ENTRIES, clock=self._clock
        )

    async def identity_for(
        self, session_id: str | None, request_id: str, binding: Binding
    ) -> str | None:
        """The signed identity for a live session, or None (no session, no key, expired).
        SQLAlchemyError if the session store cannot be read."""
        if not session_id or self.key is None or self._sessions is None:
            return None
        session = self._cache.get(session_id)
        if session is None:
            read_at = self._cache.now()
            session = await asyncio.to_thread(self._sessions.lookup, session_id)
            if session is None:
                return None
            remaining = session.expires_at.timestamp() - time.time()
            self._cache.put(session_id, session, ttl=remaining, since=read_at)
        now = time.time()
        expires_at = min(int(now) + DEFAULT_TTL_SECONDS, int(session.expires_at.timestamp()))
        if expires_at <= now:
            return None
        identity = Identity(session.user_id, session.login, session.role, expires_at, request_id)
        return sign_identity(identity, self.key, binding=binding, issued_at=int(now))
