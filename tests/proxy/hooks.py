"""Calling an addon's hook in a test the way mitmproxy does: a hook may return at once, or
return an awaitable that finishes it (`Responses.response` does when legacy must be asked).

`FicusChain` is Ficus's addons (`proxy.addon.ficus_addons`) as one object for a test: given to
`taddons.context`, mitmproxy registers them as its children (so they load and configure); its
hook methods run each addon's hook in chain order, as the curated master does
(proxy/dispatch.py): at once while each returns at once, then awaiting the one that did not.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mitmproxy import http

from proxy.addon import ficus_addons
from proxy.control_plane import ControlPlane
from proxy.pins import ReadPins
from proxy.route_stats import RouteStats


async def finished(result: Awaitable[object] | None) -> None:
    if result is not None and inspect.isawaitable(result):
        await result


class FicusChain:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        addons = ficus_addons(clock=clock)
        self.options = addons[0]
        self.runtime = self.options.runtime
        self.addons = list(addons)

    @property
    def pins(self) -> ReadPins:
        return self.runtime.pins

    def control_plane(self) -> ControlPlane:
        control = self.options.control
        assert control is not None, "no control plane configured"
        return control

    @property
    def stats(self) -> RouteStats:
        return self.runtime.stats

    def request(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        return self.run("request", flow)

    def response(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        return self.run("response", flow)

    def error(self, flow: http.HTTPFlow) -> Awaitable[None] | None:
        return self.run("error", flow)

    def done(self) -> Awaitable[None] | None:
        return self.run("done")

    def run(self, hook: str, *args: Any) -> Awaitable[None] | None:
        handlers = [h for a in self.addons if callable(h := getattr(a, hook, None))]
        return _run_from(handlers, args)


def _run_from(handlers: list[Callable[..., Any]], args: tuple[Any, ...]) -> Awaitable[None] | None:
    for index, handler in enumerate(handlers):
        result = handler(*args)
        if result is not None and inspect.isawaitable(result):
            return _finish(result, handlers[index + 1 :], args)
    return None


async def _finish(
    pending: Awaitable[object], rest: list[Callable[..., Any]], args: tuple[Any, ...]
) -> None:
    await pending
    later = _run_from(rest, args)
    if later is not None:
        await later
