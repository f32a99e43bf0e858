"""An addon manager that dispatches each event only to the addons that handle it.

mitmproxy's `AddonManager` offers every event to every addon in the chain: for each one it walks
the addon's children, looks the hook up by name, enters a `safecall` context manager and
rebuilds the event's argument list, whether or not the addon has the hook. And after every flow
event (`requestheaders`, `request`, `responseheaders`, `response`, `error`) it triggers an
`update` event for UIs, through the whole chain again, although no addon of Ficus's curated
master has an `update` hook. Profiled under load (docs/benchmarks.md) that bookkeeping was the
largest single item of a Ficus worker's time per request.

`CuratedAddonManager` keeps mitmproxy's semantics where they matter: handlers run in chain
order (children right after their parent), sync or async, an `AddonHalt` stops the event, an
`OptionsError` propagates, and any other exception is logged as "Addon error" and the next
handler runs. What changes is the cost: the handlers of each event name are looked up once
(again whenever an addon is added or removed) and the arguments built once per event, and
`update` is only triggered if some addon handles it.

The one thing given up: a hook method attached to an addon *after* it was added is not seen
(mitmproxy would look it up again on every event). Ficus's addons declare their hooks as
methods.

`skip_debug_typechecks()` removes the other per-request cost that is not work: every
`http.Request`/`http.Response` mitmproxy (or the forwarder) builds type-checks each of its
fields against its annotation in `MessageData.__post_init__`, a developer aid that mitmproxy
itself compiles out under `python -O` (`if __debug__:`). Running the proxy with `-O` would also
strip every `assert`, so the curated master drops just this one check. It validates no input:
the values are what mitmproxy's parsers and Ficus's own code built, bytes from the wire are
bytes either way, and header and body validation happen elsewhere (h11, mitmproxy's
`validate_inbound_headers`, proxy.guard).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from mitmproxy import addonmanager, exceptions, flow, hooks, http

logger = logging.getLogger(__name__)

Handler = Callable[..., Any]


class CuratedAddonManager(addonmanager.AddonManager):
    def __init__(self, master: Any) -> None:
        super().__init__(master)  # type: ignore[no-untyped-call]
        self._handlers: dict[str, tuple[Handler, ...]] = {}

    # Any change of the chain forgets the looked-up handlers.
    def register(self, addon: Any) -> Any:
        self._handlers = {}
        return super().register(addon)  # type: ignore[no-untyped-call]

    def remove(self, addon: Any) -> None:
        self._handlers = {}
        super().remove(addon)  # type: ignore[no-untyped-call]

    def clear(self) -> None:
        self._handlers = {}
        super().clear()  # type: ignore[no-untyped-call]

    def handlers(self, name: str) -> tuple[Handler, ...]:
        """The callables handling event `name`, in chain order."""
        found = self._handlers.get(name)
        if found is None:
            found = self._handlers[name] = tuple(
                func
                for addon in addonmanager.traverse(self.chain)  # type: ignore[no-untyped-call]
                # A module imported under a hook's name (`from mitmproxy import log`) is no hook.
                if callable(func := getattr(addon, name, None))
            )
        return found

    async def trigger_event(self, event: hooks.Hook) -> None:
        funcs = self.handlers(event.name)
        if not funcs:
            return
        args = event.args()
        for func in funcs:
            try:
                result = func(*args)
                if result is not None and inspect.isawaitable(result):
                    await result
            except exceptions.AddonHalt:
                return
            except exceptions.OptionsError:
                raise
            except Exception as e:
                logger.error(f"Addon error: {e}", exc_info=True)

    async def handle_lifecycle(self, event: hooks.Hook) -> None:
        await self.trigger_event(event)
        if self.handlers("update"):
            message = event.args()[0]
            if isinstance(message, flow.Flow):
                await self.trigger_event(hooks.UpdateHook([message]))


def _no_typecheck(self: http.MessageData) -> None:
    pass


def skip_debug_typechecks() -> None:
    """Build mitmproxy's request and response data without the `__debug__` type checks."""
    http.MessageData.__post_init__ = _no_typecheck  # type: ignore[method-assign]
