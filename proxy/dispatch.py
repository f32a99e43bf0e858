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
bytes either way, and header and body validation happen elsewhere (h11, llhttp, mitmproxy's
`validate_inbound_headers`, proxy.guard).
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from mitmproxy import addonmanager, exceptions, flow, hooks

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

    def start_event(self, event: hooks.Hook) -> Awaitable[None] | None:
        """Run the handlers of `event` in chain order for as long as each returns at once.

        None when every handler has run; otherwise an awaitable that waits for the handler that
        returned one and then runs the rest. `proxy.mitm_patches.connection_handler` runs an event
        inline when this returns None, and schedules a task only for such an awaitable.
        """
        funcs = self.handlers(event.name)
        return self._run_from(funcs, hook_args(event)) if funcs else None

    def _run_from(self, funcs: tuple[Handler, ...], args: list[Any]) -> Awaitable[None] | None:
        for index, func in enumerate(funcs):
            try:
                result = func(*args)
            except exceptions.AddonHalt:
                return None
            except exceptions.OptionsError:
                raise
            except Exception as e:
                logger.error(f"Addon error: {e}", exc_info=True)
                continue
            if result is not None and inspect.isawaitable(result):
                return self._finish_event(result, funcs[index + 1 :], args)
        return None

    async def _finish_event(
        self, pending: Awaitable[object], rest: tuple[Handler, ...], args: list[Any]
    ) -> None:
        try:
            await pending
        except exceptions.AddonHalt:
            return
        except exceptions.OptionsError:
            raise
        except Exception as e:
            logger.error(f"Addon error: {e}", exc_info=True)
        later = self._run_from(rest, args)
        if later is not None:
            await later

    async def trigger_event(self, event: hooks.Hook) -> None:
        pending = self.start_event(event)
        if pending is not None:
            await pending

    def start_lifecycle(self, event: hooks.Hook) -> Awaitable[None] | None:
        """`handle_lifecycle`, run inline as far as it can be (see `start_event`)."""
        if self.handlers("update"):
            return self.handle_lifecycle(event)
        return self.start_event(event)

    async def handle_lifecycle(self, event: hooks.Hook) -> None:
        await self.trigger_event(event)
        if self.handlers("update"):
            message = event.args()[0]
            if isinstance(message, flow.Flow):
                await self.trigger_event(hooks.UpdateHook([message]))


def hook_args(event: hooks.Hook) -> list[Any]:
    """`event.args()`, with the hook's field names looked up once per hook class rather than
    through `dataclasses.fields` on every event."""
    return [getattr(event, name) for name in _field_names(type(event))]


_FIELD_NAMES: dict[type[hooks.Hook], tuple[str, ...]] = {}


def _field_names(hook_class: type[hooks.Hook]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(hook_class)
    if names is None:
        fields = dataclasses.fields(hook_class)  # type: ignore[arg-type]
        names = _FIELD_NAMES[hook_class] = tuple(field.name for field in fields)
    return names
