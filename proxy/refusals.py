"""Refusals the HTTP/1 layer makes before a request exists, told to the addons as one hook.

proxy/head_limits.py refuses a head over 64 KiB (431) or one too slow (408) while it is still
being read: nothing was parsed, so mitmproxy has no flow and starts no hook for it, and the
access log would never hear of it. `FicusHeadRefusedHook` is the hook the layer starts instead
(mitmproxy's way for a layer to reach its addons); FicusAddon's `ficus_head_refused` writes
the access-log line. The refusal carries what is safe to log and nothing else: the peer's
address, a method the proxy knows (else `-`), the status sent and a fixed reason. Never the
target or a header: the head is the client's, unparsed, and may hold PHI.
"""

from __future__ import annotations

from dataclasses import dataclass

from mitmproxy.proxy import commands


@dataclass(frozen=True, slots=True)
class HeadRefusal:
    client: str  # the peer's address, as X-Forwarded-For gives it
    method: str  # one the guard knows, else "-"
    status: int | None  # None: nothing was sent (the head was blank)
    error: str  # `head_too_large`, `head_timeout`
    started: float  # epoch seconds: since when the head was awaited


@dataclass
class FicusHeadRefusedHook(commands.StartHook):  # type: ignore[no-untyped-call]
    """A request head refused while it was read: no request, no route, no route stats."""

    refusal: HeadRefusal


__all__ = ["FicusHeadRefusedHook", "HeadRefusal"]
