"""mitmproxy's connection handler, minus a task per hook and a send per message part.

Pinned to mitmproxy 11.0.2 (tests/proxy/test_connection_handler.py fails if a new mitmproxy
stops creating handlers where this expects). Two per-request costs of its
`ConnectionHandler.server_event` are not work a reverse proxy needs:

- **A task per hook.** Every hook a layer starts (`requestheaders`, `request`,
  `responseheaders`, `response`, and the connection hooks) becomes an asyncio task, which runs
  the addons on a later turn of the event loop and then feeds `HookCompleted` back to the layers.
  Most of Ficus's hooks return at once (the guard's checks, the access log), so a request paid
  for four tasks and four extra loop turns where one is needed: the `request` hook, whose
  forwarder waits for the upstream.

  `InlineHooks` sits on top of the connection's layer stack. When a layer starts a hook it runs
  the handlers right away (`CuratedAddonManager.start_event`): if all of them return at once it
  hands `HookCompleted` to the layers as soon as they have finished the current event, which is
  what the task would have done, only sooner. If a handler returns an awaitable, a task waits for
  it and runs the rest, as mitmproxy's would (watchdog disarmed, an intercepted flow awaited).

- **A send per message part.** The HTTP/1 layer writes a response's head and its body as two
  `SendData` commands, so two `send` system calls and two wake-ups of the client. `InlineHooks`
  joins consecutive writes to one connection into one, and sends it before any other command.

Everything else is mitmproxy's: commands other than hooks and writes pass through untouched, in
order, to `server_event`.

One limit is added, for HTTP/2 client connections only (proxy/mitm_patches/h2_server.py says why):
at most `MAX_UPSTREAM_PER_CLIENT` of the connection's `request` hooks (the forwarding) run at a
time; the others wait their turn in order. An HTTP/1 connection has one request in flight at most,
and its path is unchanged.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Iterator
from typing import Any, Protocol

from mitmproxy import flow
from mitmproxy.proxy import commands, events, mode_servers
from mitmproxy.proxy.context import Context
from mitmproxy.utils import asyncio_utils

from proxy.dispatch import CuratedAddonManager
from proxy.mitm_patches import h2_server


class HookFinisher(Protocol):
    """What `InlineHooks` needs of its connection handler."""

    master: Any

    def finish_hook_later(
        self, hook: commands.StartHook, pending: Awaitable[None] | None
    ) -> None: ...


class InlineHooks:
    """A connection's top layer, with hooks run inline where they can be and writes joined."""

    __slots__ = ("_curated", "_handler", "layer")

    def __init__(self, layer: Any, handler: HookFinisher) -> None:
        self.layer = layer
        self._handler = handler
        # Any other manager (none in Ficus's master) gets every hook as a task, as in mitmproxy.
        addons = handler.master.addons
        self._curated = addons if isinstance(addons, CuratedAddonManager) else None

    @property
    def context(self) -> Any:
        return self.layer.context

    def handle_event(self, event: events.Event) -> Iterator[commands.Command]:
        curated = self._curated
        queue = deque((event,))
        while queue:
            write: commands.SendData | None = None
            for command in self.layer.handle_event(queue.popleft()):
                if type(command) is commands.SendData:
                    if write is None:
                        write = command
                    elif write.connection is command.connection:
                        write = commands.SendData(write.connection, write.data + command.data)
                    else:
                        yield write
                        write = command
                    continue
                if write is not None:
                    yield write
                    write = None
                if curated is None or not isinstance(command, commands.StartHook):
                    yield command
                    continue
                pending = curated.start_lifecycle(command)
                # Every hook that carries a flow names it `flow`; an intercepted one waits.
                data = getattr(command, "flow", None)
                if pending is None and not (isinstance(data, flow.Flow) and data.intercepted):
                    if command.blocking:
                        queue.append(events.HookCompleted(command))
                else:
                    self._handler.finish_hook_later(command, pending)
            if write is not None:
                yield write


class FicusConnectionHandler(mode_servers.ProxyConnectionHandler):
    """mitmproxy's handler for one client connection, its layers wrapped in `InlineHooks`."""

    @property  # type: ignore[override]
    def layer(self) -> InlineHooks:
        return self._inline

    @layer.setter
    def layer(self, value: Any) -> None:
        # mitmproxy sets the layer twice: in __init__, then the mode's top layer.
        self._inline = InlineHooks(value, self)

    _h2_slots: asyncio.Semaphore | None = None

    def finish_hook_later(self, hook: commands.StartHook, pending: Awaitable[None] | None) -> None:
        """What mitmproxy's server_event does with every hook: a task. An HTTP/2 connection's
        forwarding waits for one of its slots."""
        if pending is not None and self.client.alpn == b"h2" and hook.name == "request":
            if self._h2_slots is None:
                self._h2_slots = asyncio.Semaphore(h2_server.MAX_UPSTREAM_PER_CLIENT)
            pending = self._in_turn(self._h2_slots, pending)
        task = asyncio_utils.create_task(
            self._finish_hook(hook, pending),
            name=f"handle_hook({hook.name})",
            client=self.client.peername,
        )
        self.hook_tasks.add(task)
        task.add_done_callback(self.hook_tasks.remove)

    @staticmethod
    async def _in_turn(slots: asyncio.Semaphore, pending: Awaitable[None]) -> None:
        async with slots:
            await pending

    async def _finish_hook(self, hook: commands.StartHook, pending: Awaitable[None] | None) -> None:
        with self.timeout_watchdog.disarm():
            if pending is not None:
                await pending
            data = getattr(hook, "flow", None)
            if isinstance(data, flow.Flow):
                await data.wait_for_resume()  # type: ignore[no-untyped-call]
        if hook.blocking:
            await self.server_event(events.HookCompleted(hook))


def fork_context(self: Context) -> Context:
    """`Context.fork`, minus the `Server` mitmproxy 11.0.2 builds and at once replaces.

    The HTTP layer forks a context for every request; building that throwaway Server (a
    dataclass with a uuid4 id, hence a `getrandom` call) was one of the larger items left in
    the per-request profile.
    """
    forked = object.__new__(Context)
    forked.client = self.client
    forked.options = self.options
    forked.server = self.server
    forked.layers = self.layers.copy()
    return forked


def install() -> None:
    """Make mitmproxy's servers create `FicusConnectionHandler`s for new connections, fork
    layer contexts without the throwaway Server, and serve HTTP/2 with Ficus's limits."""
    mode_servers.ProxyConnectionHandler = FicusConnectionHandler  # type: ignore[misc]
    Context.fork = fork_context  # type: ignore[method-assign]
    h2_server.install()
