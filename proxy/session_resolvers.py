"""Who holds a legacy credential: the session table, or the legacy app's who-am-I answer.

Both run off the event loop's critical path: the table lookup in a worker thread, the who-am-I
call as one exchange on the proxy's upstream client (`proxy.upstream_client`, the transport
every other upstream call uses), with a deadline and a bound on calls in flight. Each answers a
`Resolved` user, None for a credential the legacy app refuses (unknown, expired, 401/403, an
answer naming no user), or raises `SessionStoreUnavailableError` when it cannot tell: the bridge
then answers 503, never forwards without the identity a live session should carry.
"""

from __future__ import annotations

import asyncio
import json
from typing import Final, Protocol

from sqlalchemy.exc import SQLAlchemyError

from domain.legacy_session import Credential, Resolved, WhoAmI, map_answer
from legacy_adapter.sessions import LegacySessionStore
from proxy.upstream_client import UpstreamClient, UpstreamError
from proxy.upstreams import Instance

# Answers that mean "no such session", as opposed to "cannot tell now".
REFUSED: Final = frozenset({401, 403})
MAX_ANSWER_BYTES: Final = 64 * 1024


class SessionStoreUnavailableError(Exception):
    """The legacy app's sessions cannot be read now; `reason` is fixed text for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Resolver(Protocol):
    async def resolve(
        self, credential: Credential, legacy: Instance, host: str | None
    ) -> Resolved | None: ...

    def close(self) -> None: ...


class TableResolver:
    """The legacy session table (`legacy_adapter.sessions`), read in a worker thread."""

    def __init__(self, store: LegacySessionStore) -> None:
        self._store = store

    async def resolve(
        self, credential: Credential, legacy: Instance, host: str | None
    ) -> Resolved | None:
        try:
            session = await asyncio.to_thread(self._store.lookup, credential.token)
        except SQLAlchemyError:
            raise SessionStoreUnavailableError("session_store_unavailable") from None
        if session is None:
            return None
        expires_at = session.expires_at.timestamp()
        return Resolved(session.user_id, session.login, session.role, expires_at)

    def close(self) -> None:
        pass


class WhoAmIResolver:
    """Asks the legacy app who holds the credential, forwarding only the credential's header."""

    def __init__(self, whoami: WhoAmI) -> None:
        self._whoami = whoami
        self._in_flight = asyncio.Semaphore(whoami.max_in_flight)
        self._clients: dict[Instance, UpstreamClient] = {}
        body = whoami.body.encode("utf-8")
        self._body = body
        self._method = whoami.method.encode("ascii")
        self._target = whoami.path.encode("ascii")

    async def resolve(
        self, credential: Credential, legacy: Instance, host: str | None
    ) -> Resolved | None:
        timeout = self._whoami.timeout_seconds
        headers = [
            (b"Host", (host or legacy.authority).encode("utf-8", "surrogateescape")),
            (b"Accept", b"application/json"),
            credential.forward,
        ]
        if self._body:
            headers.append((b"Content-Type", b"application/json"))
        try:
            async with asyncio.timeout(timeout):
                # Waiting for a free slot counts against the same deadline: a flood of new
                # credentials queues for at most that long, then gets a 503.
                async with self._in_flight:
                    answer = await self._client(legacy).send(
                        self._method,
                        self._target,
                        headers,
                        self._body,
                        max_body_bytes=MAX_ANSWER_BYTES,
                    )
        except TimeoutError:
            raise SessionStoreUnavailableError("whoami_timeout") from None
        except UpstreamError:
            raise SessionStoreUnavailableError("whoami_unavailable") from None
        if answer.status_code in REFUSED:
            return None
        if answer.status_code != 200 or answer.body_truncated:
            raise SessionStoreUnavailableError("whoami_unavailable")
        try:
            parsed = json.loads(answer.body)
        except (ValueError, UnicodeDecodeError):
            return None  # no readable answer proves no session
        return map_answer(self._whoami, parsed)

    def _client(self, legacy: Instance) -> UpstreamClient:
        client = self._clients.get(legacy)
        if client is None:
            timeout = self._whoami.timeout_seconds
            client = self._clients[legacy] = UpstreamClient(
                legacy, connect_timeout=timeout, read_timeout=timeout
            )
        return client

    def close(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()
