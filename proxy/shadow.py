"""Shadow copies: in `shadow`, legacy serves and the new service gets a copy it answers to no one.

Which requests are copied is decided by `should_shadow` (pure): reads (`Decision.is_read`: safe
methods, and RPC methods a plan classes as reads) always, writes only
when the plan says `shadow.include_writes` *and* a dry-run token can be signed (the service then
runs the write in a transaction it rolls back, contract C4); then `sample_percent` of them,
chosen by the request id (uniform, and no random numbers needed).

`ShadowSender` sends them fire-and-forget through the forwarder's own HTTP/1.1 client
(`proxy.upstream_client.UpstreamClient`, one per service instance), so a copy's answer meets
the same strict framing rules as every answer: a connection on which the service sent bytes
beyond the answer it declared is closed, never used for the next copy, and an answer framed two
ways (Content-Length with Transfer-Encoding, a bare LF) is a failed copy. Beyond that:

- the client's request is never delayed: the addon hands over a copy of the request and goes
  on; the copy runs as a background task (kept in a `TaskSet`, so it is not collected);
- per feature at most `max_in_flight` copies run at once; a copy beyond that is dropped and
  counted (`dropped`), never queued, so a slow or dead service costs a bounded amount; a request
  whose body is over `max_body_bytes` is not copied at all (counted in `too_large`), so copies
  hold at most `max_in_flight` times `max_body_bytes` of request bodies per feature and worker;
- each copy has the plan's deadline (`timeout_seconds`) over identity lookup, connect, send and
  the whole answer; the answer is kept for comparison, its body only up to `max_body_bytes`
  (beyond that it is read off the wire and dropped, and the answer says `body_truncated`); no
  cookie is kept (the client has no jar);
- the outcome (the answer, or None for a failure) and latency go to the callback the addon
  gives, which records them in route stats as side `shadow` and hands the answer on to be
  compared (`proxy.shadow_compare`).

The same sender asks legacy a second time for noise cancellation (`pool=` names a bound of its
own, so noise never takes a copy's place): same client type, deadline and in-flight bound.

Nothing here can raise into the primary request: every failure of a copy becomes an outcome.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Final, Protocol

from proxy.tasks import TaskSet
from proxy.upstream_client import Answer, UpstreamClient, UpstreamError
from proxy.upstreams import Instance

logger = logging.getLogger(__name__)

MAX_DEADLINE_SECONDS: Final = 60.0
# Hop-by-hop headers are not the copy's; the body goes with a Content-Length; Host is the
# service's.
_DROPPED: Final = frozenset(
    {"host", "connection", "keep-alive", "transfer-encoding", "te", "upgrade", "expect"}
)


class ShadowPolicy(Protocol):
    """What `should_shadow` reads from a plan's `ShadowSettings` (contract C1)."""

    @property
    def sample_percent(self) -> float: ...

    @property
    def include_writes(self) -> bool: ...


def should_shadow(
    is_read: bool, policy: ShadowPolicy, request_id: str, *, can_sign_dry_run: bool
) -> bool:
    """Whether this request of a `shadow` route gets a copy sent to the service."""
    if not is_read and not (policy.include_writes and can_sign_dry_run):
        return False
    if policy.sample_percent >= 100:
        return True
    # The request id is a random hex uuid: its first 8 digits are a uniform draw.
    try:
        draw = int(request_id[:8], 16) % 10_000
    except ValueError:
        return False
    return draw < policy.sample_percent * 100


def shadow_headers(
    fields: Iterable[tuple[bytes, bytes]], authority: str, extra: Iterable[tuple[str, str]]
) -> list[tuple[bytes, bytes]]:
    """The copy's headers: the forwarded request's, with the service's Host and `extra`."""
    kept = [(n, v) for n, v in fields if n.decode("latin-1").lower() not in _DROPPED]
    added = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in extra]
    return [(b"Host", authority.encode("idna")), *kept, *added]


def noise_headers(fields: Iterable[tuple[bytes, bytes]], host: str) -> list[tuple[bytes, bytes]]:
    """The headers of legacy's second ask: the forwarded request's, with the Host legacy got
    the first time (`host`: an HTTP/2 request has its authority instead of a Host field)."""
    kept = [(n, v) for n, v in fields if n.decode("latin-1").lower() not in _DROPPED]
    return [(b"Host", host.encode("idna")), *kept]


# An answer's body kept for comparison at most; beyond it, compared as "body too large".
MAX_BODY_BYTES: Final = 64 * 1024

Outcome = Callable[[Answer | None, float], None]  # (the answer or None on failure, latency ms)


class ShadowSender:
    def __init__(self, *, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.max_body_bytes = max_body_bytes
        self._clients: dict[Instance, UpstreamClient] = {}
        self._tasks: dict[str, TaskSet] = {}
        self.dropped: dict[str, int] = {}
        self.too_large: dict[str, int] = {}  # copies not sent: the request body is over budget

    def in_flight(self, feature: str) -> int:
        tasks = self._tasks.get(feature)
        return len(tasks) if tasks is not None else 0

    def submit(
        self,
        feature: str,
        max_in_flight: int,
        headers: Callable[[], Awaitable[list[tuple[bytes, bytes]] | None]],
        *,
        instance: Instance,
        method: str,
        target: bytes,
        body: bytes,
        deadline: float,
        outcome: Outcome,
        pool: str | None = None,
    ) -> asyncio.Task[None] | None:
        """Start one copy in the background; None (and counted) if the feature is at its bound,
        or if the request body is over `max_body_bytes` (counted in `too_large`).

        `headers` is awaited inside the copy (it may look the session up); None skips the copy.
        `pool` names the in-flight bound (default: the feature's).
        """
        bound = pool or feature
        if len(body) > self.max_body_bytes:
            # A copy holds its body until it is sent and framed again: beyond the budget, the
            # memory held per feature would be max_in_flight times any client's upload.
            self.too_large[bound] = self.too_large.get(bound, 0) + 1
            return None
        tasks = self._tasks.setdefault(bound, TaskSet())
        if len(tasks) >= max_in_flight:
            self.dropped[bound] = self.dropped.get(bound, 0) + 1
            return None
        return tasks.spawn(self._copy(headers, instance, method, target, body, deadline, outcome))

    async def _copy(
        self,
        headers: Callable[[], Awaitable[list[tuple[bytes, bytes]] | None]],
        instance: Instance,
        method: str,
        target: bytes,
        body: bytes,
        deadline: float,
        outcome: Outcome,
    ) -> None:
        started = time.perf_counter()
        answer: Answer | None = None
        try:
            async with asyncio.timeout(deadline):
                fields = await headers()
                if fields is None:
                    return
                answer = await self._client(instance).send(
                    method.encode("ascii"),
                    target,
                    fields,
                    body,
                    max_body_bytes=self.max_body_bytes,
                )
        except (UpstreamError, TimeoutError, UnicodeEncodeError):
            answer = None
        except Exception:  # a copy must never take anything down with it
            logger.exception("shadow copy failed unexpectedly")
            answer = None
        outcome(answer, (time.perf_counter() - started) * 1000)

    def _client(self, instance: Instance) -> UpstreamClient:
        client = self._clients.get(instance)
        if client is None:
            # A backstop only: each copy's own deadline (the plan's) is the real bound.
            client = self._clients[instance] = UpstreamClient(
                instance, connect_timeout=MAX_DEADLINE_SECONDS, read_timeout=MAX_DEADLINE_SECONDS
            )
        return client

    @property
    def idle(self) -> bool:
        """Nothing to close: no connection opened, no copy in flight."""
        return not self._clients and not any(len(t) for t in self._tasks.values())

    async def aclose(self) -> None:
        for tasks in self._tasks.values():
            await tasks.cancel_all()
        clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()
