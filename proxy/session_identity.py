"""The identity bridge's core: a legacy credential in, a signed X-Ficus-Identity out.

How the legacy app keeps its sessions is the plans' `legacy_session:` (default: the `SESSID`
cookie and the legacy session table; `domain.legacy_session`). The credential is read once per
request (`read`, from the sanitizer); `identity_for` resolves it off the event loop
(`proxy.session_resolvers`: the table in a thread, or a who-am-I call to legacy) and caches the
positive answers for half a second, keyed by the credential's session key (for Basic a keyed
hash, never the password). A logout, a deactivated user, a cut expiry or a who-am-I that starts
answering 401 reaches the services within that long (counted from the lookup that read the
session), well inside 1 s with the request in flight; refusals are never cached, so a session
that just logged in works at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Final

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import ArgumentError

from domain.identity import DEFAULT_TTL_SECONDS, Binding, Identity, check_key, sign_identity
from domain.legacy_session import Credential, LegacySessionSettings, Resolved, ResolveKind
from legacy_adapter.sessions import LegacySessionStore
from proxy.legacy_credentials import read_credential
from proxy.session_resolvers import (
    Resolver,
    SessionStoreUnavailableError,
    TableResolver,
    WhoAmIResolver,
)
from proxy.ttl_cache import TTLCache
from proxy.upstreams import Instance

__all__ = ["SESSION_CACHE_SECONDS", "SessionIdentities", "SessionStoreUnavailableError"]

SESSION_CACHE_SECONDS: Final = 0.5
SESSION_CACHE_ENTRIES: Final = 10_000


class SessionIdentities:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # The HMAC key shared with the services; None until configured (routes to services
        # then answer 503).
        self.key: bytes | None = None
        self.settings = LegacySessionSettings()
        self._engine: Engine | None = None
        self._resolver: Resolver | None = None
        self._cache: TTLCache[str, Resolved] = self._new_cache()

    def set_key(self, raw: str) -> None:
        """ValueError if the key is too short; an empty one means no key."""
        self.key = check_key(raw.encode()) if raw else None

    def open(self, url: str) -> None:
        """Read sessions from the legacy database at `url`; ValueError if it is no URL."""
        try:
            engine = create_engine(url, pool_pre_ping=True)
        except (ArgumentError, ImportError, ValueError) as e:
            raise ValueError(str(e)) from e
        self._close_engine()
        self._engine = engine
        self._rebuild()

    def use(self, settings: LegacySessionSettings) -> None:
        """How the legacy app keeps its sessions (the plans' `legacy_session:`)."""
        if settings != self.settings:
            self.settings = settings
            self._rebuild()

    def read(self, fields: Sequence[tuple[bytes, bytes]]) -> Credential | None:
        """The request's credential: the one reading cohorts, pins and identity share."""
        return read_credential(self.settings, fields, self.key or b"")

    def close(self) -> None:
        if self._resolver is not None:
            self._resolver.close()
            self._resolver = None
        self._close_engine()

    def _close_engine(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _rebuild(self) -> None:
        if self._resolver is not None:
            self._resolver.close()
        whoami = self.settings.whoami
        if self.settings.resolve is ResolveKind.WHOAMI and whoami is not None:
            self._resolver = WhoAmIResolver(whoami)
        elif self._engine is not None:
            self._resolver = TableResolver(LegacySessionStore(self._engine))
        else:
            self._resolver = None
        self._cache = self._new_cache()

    def _new_cache(self) -> TTLCache[str, Resolved]:
        return TTLCache(
            ttl=SESSION_CACHE_SECONDS, max_entries=SESSION_CACHE_ENTRIES, clock=self._clock
        )

    async def identity_for(
        self,
        credential: Credential | None,
        request_id: str,
        binding: Binding,
        *,
        legacy: Instance,
        host: str | None = None,
    ) -> str | None:
        """The signed identity for a live session, or None (no credential, no key, refused).
        `legacy`: where a who-am-I call goes; `host`: the client's Host, sent with it.
        SessionStoreUnavailableError if the legacy app cannot tell now."""
        if credential is None or self.key is None or self._resolver is None:
            return None
        resolved = self._cache.get(credential.key)
        if resolved is None:
            read_at = self._cache.now()
            resolved = await self._resolver.resolve(credential, legacy, host)
            if resolved is None:
                return None
            remaining = None
            if resolved.expires_at is not None:
                remaining = resolved.expires_at - time.time()
            self._cache.put(credential.key, resolved, ttl=remaining, since=read_at)
        now = time.time()
        expires_at = int(now) + DEFAULT_TTL_SECONDS
        if resolved.expires_at is not None:
            expires_at = min(expires_at, int(resolved.expires_at))
        if expires_at <= now:
            return None
        identity = Identity(resolved.user_id, resolved.login, resolved.role, expires_at, request_id)
        return sign_identity(identity, self.key, binding=binding, issued_at=int(now))
