"""What Ficus's addons remember about one flow between their hooks, under one metadata key.

Every addon (guard, sanitizer, router, identity bridge, shadow, forwarder, fallback, stats,
access log) reads and writes the same `FlowState` through `state_of`/`attach`; nothing else
knows the key. The request-side addons fill it in hook order, the response side reads it.
Pure: a flow here is anything with a `metadata` dict, so this module imports no mitmproxy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Final, Protocol

from domain.legacy_session import Credential
from domain.routes import Decision
from proxy.shadow_compare import Exchange
from proxy.upstreams import Instance

_KEY: Final = "ficus"


class HasMetadata(Protocol):
    @property
    def metadata(self) -> dict[str, Any]: ...


@dataclass(slots=True, eq=False)
class FlowState:
    request_id: str
    # A fixed reason for the access log, never request or upstream text.
    error: str | None = None
    # The canonical path and the untouched query (`proxy.sanitizer`), for the router.
    path: str | None = None
    query: bytes | None = None
    # The client's Host, read before the sanitizer may drop it: X-Forwarded-Host.
    forwarded_host: str | None = None
    # The legacy credential, read once (`proxy.sanitizer`): its session key is `session_id`,
    # which the cohort, the pins and the identity cache all use.
    credential: Credential | None = None
    session_id: str | None = None
    decision: Decision | None = None
    # The legacy app's address, saved before the flow is pointed at a service: where a failed
    # read falls back to.
    legacy_origin: Instance | None = None
    # The Host the fallback sends legacy (`proxy.host_header`: the client's, or legacy's own).
    legacy_host: str | None = None
    # (session id, feature, seconds): what to pin if legacy accepts this write.
    pin: tuple[str, str, float] | None = None
    # Work the router leaves to the next addons, each clearing its own flag when done (so a
    # replayed flow, already routed, is neither shadowed nor signed again).
    needs_shadow: bool = False
    needs_identity: bool = False
    # A shadowed flow's answers being paired for comparison (`proxy.shadow_compare`).
    exchange: Exchange | None = None
    # Whether route stats and the access log have this request already (the response hook,
    # then the error hook when the client leaves while it is sent, is possible).
    counted: bool = False
    logged: bool = False


def state_of(flow: HasMetadata) -> FlowState | None:
    """The flow's state, or None if no Ficus addon has seen its request yet."""
    state = flow.metadata.get(_KEY)
    return state if isinstance(state, FlowState) else None


def attach(flow: HasMetadata, error: str | None = None) -> FlowState:
    """A new state for the flow, with a new request id."""
    state = flow.metadata[_KEY] = FlowState(request_id=new_request_id(), error=error)
    return state


def has_state(flow: HasMetadata) -> bool:
    return _KEY in flow.metadata


def new_request_id() -> str:
    """32 random hex digits: unique, and the first 8 a uniform draw (shadow sampling uses it).

    `os.urandom(16).hex()` rather than `uuid.uuid4().hex`: the same randomness, a quarter of
    the cost (no UUID object per request).
    """
    return os.urandom(16).hex()
