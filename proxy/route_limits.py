"""The addon that gives a route its own read timeout (`domain.route_limits`), legacy's or not.

It declares `ficus_route_limits` (a file; empty: none), reads it in `configure()` and fails
fast with the file, line and field of every problem. In `request`, after the router, it looks
the request's canonical path up (`FlowState.path`, `;params` matched without them, as the
router does) and leaves the route's read timeout in the flow's metadata, where the forwarder
takes it (`read_timeout_of`). Without a file it costs one attribute check per request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader

from domain.route_limits import RouteLimits, read_route_limits
from proxy.canonical_path import strip_params
from proxy.flow_state import HasMetadata, state_of

OPTION: Final = "ficus_route_limits"
_READ_TIMEOUT: Final = "ficus_read_timeout"


class RouteLimitsAddon:
    def __init__(self) -> None:
        self.limits = RouteLimits()
        self._file: str | None = None

    def load(self, loader: Loader) -> None:
        loader.add_option(
            OPTION,
            str,
            "",
            "YAML file of per-route read timeouts (routes: - route: 'POST /{db}/bus', "
            "read_timeout_seconds: 300), for legacy's routes as well; empty: none.",
        )

    def configure(self, updated: set[str]) -> None:
        name = getattr(ctx.options, OPTION)
        if name == self._file:
            return
        try:
            self.limits = load_limits(name)
        except (OSError, ValueError) as e:
            raise exceptions.OptionsError(f"{OPTION}: {e}") from e  # type: ignore[no-untyped-call]
        self._file = name

    def running(self) -> None:
        # A value set while this addon was being added reaches no configure() of ours.
        self.configure({OPTION})

    def request(self, flow: http.HTTPFlow) -> None:
        if not self.limits or flow.response is not None:
            return
        state = state_of(flow)
        if state is None or state.path is None:
            return
        path = strip_params(state.path) if ";" in state.path else state.path
        seconds = self.limits.read_timeout(flow.request.method, path)
        if seconds is not None:
            flow.metadata[_READ_TIMEOUT] = seconds


def load_limits(name: str) -> RouteLimits:
    if not name:
        return RouteLimits()
    path = Path(name)
    return read_route_limits(path.read_text(encoding="utf-8"), str(path))


def read_timeout_of(flow: HasMetadata) -> float | None:
    """The route's own read timeout, if its limits set one."""
    seconds = flow.metadata.get(_READ_TIMEOUT)
    return seconds if isinstance(seconds, float) else None


addons = [RouteLimitsAddon()]
