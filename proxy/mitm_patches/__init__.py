"""Every change Ficus makes to mitmproxy 11.0.2's internals: the list, and the one switch.

The proxy needs a few things mitmproxy offers no option or hook for (bounded heads, a body budget
and deadline, its own error pages, inline hooks, HTTP/2 stream limits, faster header lookups,
SO_REUSEPORT for workers, no debug type checks). Each is done by replacing an attribute of a
mitmproxy class or module, and each lives in this package, one module per patch: `fastpaths`,
`connection_handler`, `h2_server`, `reuse_port`, `typechecks`, and the four that also declare
their options as a small addon (`head_limits`, `body_budget`, `body_deadline`, `error_pages`).
All are listed here, in `PATCHES`, and switched on here: `apply_all()` is the only caller of
their `install()`s in the server, in the order they need. Nothing outside this package patches
mitmproxy.

`PATCHES` is pinned by tests/proxy/test_mitm_patches.py: mitmproxy must be 11.0.2, every
patched attribute must still exist with the parameters listed here, and `apply_all()` must
change exactly these attributes and no other. A new mitmproxy, or a new patch not listed here,
fails that test before it can change the proxy's behaviour unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from proxy.mitm_patches import (
    body_budget,
    body_deadline,
    connection_handler,
    error_pages,
    fastpaths,
    head_limits,
    reuse_port,
)
from proxy.mitm_patches.typechecks import skip_debug_typechecks

MITMPROXY_VERSION: Final = "11.0.2"


@dataclass(frozen=True, slots=True)
class Patch:
    # "module" or "module:Class", as importlib and getattr find it.
    owner: str
    attribute: str
    # The original's parameter names (a class: its constructor's), as the replacement expects.
    parameters: tuple[str, ...]
    # The Ficus module that replaces it, and why.
    by: str


_H1: Final = "mitmproxy.proxy.layers.http._http1"
_H2: Final = "mitmproxy.proxy.layers.http._http2"
_STREAM: Final = "mitmproxy.proxy.layers.http:HttpStream"
_GEN: Final = ("self", "event")
_PATCHES: Final = "proxy.mitm_patches"
_FAST: Final = f"{_PATCHES}.fastpaths"
_HANDLER: Final = "proxy.mitm_patches.connection_handler"
_H2_SERVER: Final = "proxy.mitm_patches.h2_server"

PATCHES: Final = (
    Patch(
        "mitmproxy.http:MessageData", "__post_init__", ("self",), "proxy.mitm_patches.typechecks"
    ),
    Patch("mitmproxy.http:Headers", "get_all", ("self", "name"), _FAST),
    Patch("mitmproxy.http:Headers", "get", ("self", "key", "default"), _FAST),
    Patch("mitmproxy.http:Headers", "__contains__", ("self", "key"), _FAST),
    Patch("mitmproxy.optmanager:_Option", "current", ("self",), _FAST),
    Patch(
        "mitmproxy.proxy.mode_servers",
        "ProxyConnectionHandler",
        ("master", "r", "w", "options", "mode"),
        _HANDLER,
    ),
    Patch(
        "mitmproxy.proxy.context:Context",
        "fork",
        ("self",),
        _HANDLER,
    ),
    Patch("mitmproxy.proxy.layers.http", "Http2Server", ("context",), _H2_SERVER),
    Patch(_H1, "make_error_response", ("status_code", "message"), "proxy.mitm_patches.error_pages"),
    Patch(_H1, "format_error", ("status_code", "message"), "proxy.mitm_patches.error_pages"),
    Patch(_H2, "format_error", ("status_code", "message"), "proxy.mitm_patches.error_pages"),
    Patch(
        "mitmproxy.proxy.layers.http._http3",
        "format_error",
        ("status_code", "message"),
        "proxy.mitm_patches.error_pages",
    ),
    Patch(
        f"{_H1}:Http1Server",
        "read_headers",
        _GEN,
        "proxy.mitm_patches.error_pages, proxy.mitm_patches.head_limits",
    ),
    Patch(f"{_H1}:Http1Server", "send", _GEN, "proxy.mitm_patches.error_pages"),
    Patch(f"{_H2}:Http2Server", "_handle_event", _GEN, "proxy.mitm_patches.error_pages"),
    Patch(f"{_H1}:Http1Server", "_handle_event", _GEN, "proxy.mitm_patches.head_limits"),
    Patch(f"{_H1}:Http1Server", "start", ("self", "_"), "proxy.mitm_patches.head_limits"),
    Patch(f"{_H1}:Http1Server", "state", ("self", "_"), "proxy.mitm_patches.head_limits"),
    Patch(
        f"{_H1}:Http1Server",
        "mark_done",
        ("self", "request", "response"),
        "proxy.mitm_patches.head_limits",
    ),
    Patch(
        _STREAM,
        "check_body_size",
        ("self", "request"),
        "proxy.mitm_patches.body_budget, proxy.mitm_patches.body_deadline",
    ),
    Patch(_STREAM, "flow_done", ("self",), "proxy.mitm_patches.body_budget"),
    Patch(_STREAM, "handle_protocol_error", _GEN, "proxy.mitm_patches.body_budget"),
    Patch(_STREAM, "_handle_event", _GEN, "proxy.mitm_patches.body_deadline"),
    Patch(
        "mitmproxy.proxy.mode_servers:ReverseInstance",
        "listen",
        ("self", "host", "port"),
        "proxy.mitm_patches.reuse_port (workers only)",
    ),
)

# Methods Ficus's subclasses override (the subclass replaces the class, see PATCHES): their
# base's signature must stay what the override expects.
OVERRIDES: Final = (
    Patch(f"{_H2}:Http2Server", "__init__", ("self", "context"), _H2_SERVER),
    Patch(f"{_H2}:Http2Server", "handle_h2_event", ("self", "event"), _H2_SERVER),
)


def apply_all(*, reuse_port_for_workers: bool = False) -> None:
    """Switch every patch on, once per process (each install is idempotent), in the order they
    need: the error pages before the head limits that render through them, the body budget
    before the deadline that counts after it. `reuse_port_for_workers`: a worker process of
    `runproxy --workers N` (its listening socket gets SO_REUSEPORT)."""
    if reuse_port_for_workers:
        reuse_port.install()
    skip_debug_typechecks()
    # Header lookups and option reads without mitmproxy's detours (proxy/mitm_patches/fastpaths.py).
    fastpaths.install()
    # Hooks that return at once run inline, not as a task each
    # (proxy/mitm_patches/connection_handler.py); HTTP/2 with Ficus's stream limits
    # (proxy/mitm_patches/h2_server.py).
    connection_handler.install()
    # mitmproxy's error answers become the proxy's (proxy/mitm_patches/error_pages.py), then HTTP/1
    # heads bounded in size and time while they are read (proxy/mitm_patches/head_limits.py).
    error_pages.install()
    head_limits.install()
    # Request bodies held at once, capped (proxy/mitm_patches/body_budget.py), then given a deadline
    # (proxy/mitm_patches/body_deadline.py).
    body_budget.install()
    body_deadline.install()


__all__ = ["MITMPROXY_VERSION", "OVERRIDES", "PATCHES", "Patch", "apply_all"]
