"""Refusals the HTTP/1 layer makes before a request exists, told to the addons as one hook.

proxy/mitm_patches/head_limits.py refuses a head over 64 KiB (431) or one too slow (408) while it is
still being read, and mitmproxy refuses one it cannot parse (400,
proxy/mitm_patches/error_pages.py): nothing was parsed, so mitmproxy has no flow and starts no hook
for it, and the access log would never hear of it. `FicusHeadRefusedHook` is the hook the layer
starts instead (mitmproxy's way for a layer to reach its addons); the `ficus_head_refused` hook of
`proxy.access_logger` writes the access-log line. The refusal carries what is safe to log and
nothing else: the peer's address, a method the proxy knows (else `-`), the status sent and a fixed
reason. Never the target or a header: the head is the client's, unparsed, and may hold PHI.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from mitmproxy.proxy import commands

from proxy.methods import METHODS


@dataclass(frozen=True, slots=True)
class HeadRefusal:
    client: str  # the peer's address, as X-Forwarded-For gives it
    method: str  # one the guard knows, else "-"
    status: int | None  # None: nothing was sent (the head was blank)
    error: str  # `head_too_large`, `head_timeout`, `head_unparsable`
    started: float  # epoch seconds: since when the head was awaited


@dataclass
class FicusHeadRefusedHook(commands.StartHook):  # type: ignore[no-untyped-call]
    """A request head refused while it was read: no request, no route, no route stats."""

    refusal: HeadRefusal


def head_refusal(
    server: Any, head: bytes, status: int | None, error: str, waited: float = 0.0
) -> FicusHeadRefusedHook:
    """The hook for a head `server` (an Http1Server) refused, told from what is safe of it."""
    method = head.lstrip(b"\r\n").split(b" ", 1)[0]
    peer = server.conn.peername
    refusal = HeadRefusal(
        client=str(peer[0]) if peer else "-",
        method=method.decode("ascii") if method in METHODS else "-",
        status=status,
        error=error,
        started=time.time() - waited,
    )
    return FicusHeadRefusedHook(refusal)


__all__ = ["FicusHeadRefusedHook", "HeadRefusal", "head_refusal"]
