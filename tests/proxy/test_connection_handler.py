"""The connection handler: hooks that return at once run inline, writes to one peer are joined.

Unit tests drive `InlineHooks` with real mitmproxy commands, events, hooks and flows, a real
`Master` with the curated addon manager, and a small scripted layer in place of mitmproxy's
stack. The last test runs the real curated master on loopback and watches which asyncio task
each of a request's hooks ran in.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Awaitable

import pytest
from mitmproxy import http, master, options
from mitmproxy.proxy import commands, events, mode_servers
from mitmproxy.proxy.context import Context
from mitmproxy.proxy.layers.http import HttpLayer
from mitmproxy.proxy.layers.http._hooks import HttpRequestHeadersHook, HttpRequestHook
from mitmproxy.test import tflow

from proxy.dispatch import CuratedAddonManager
from proxy.mitm_patches import connection_handler
from proxy.mitm_patches.connection_handler import FicusConnectionHandler, InlineHooks, fork_context
from proxy.server import build_master
from tests.proxy.test_server import config


@pytest.fixture
def anyio_backend():
    return "asyncio"


class ScriptedLayer:
    """Yields the commands scripted for each event it gets, and keeps the events."""

    def __init__(self, script):
        self.script = script
        self.received: list[events.Event] = []
        self.context = object()

    def handle_event(self, event):
        self.received.append(event)
        yield from self.script(event)


class Handler:
    """What InlineHooks needs of FicusConnectionHandler: the master, and a later-finisher."""

    def __init__(self, addons):
        self.master = addons.master
        self.later: list[tuple[commands.StartHook, Awaitable[None] | None]] = []

    def finish_hook_later(self, hook, pending):
        self.later.append((hook, pending))


@pytest.fixture
async def addons():
    proxy = master.Master(options.Options())
    proxy.addons = CuratedAddonManager(proxy)
    return proxy.addons


class Calls:
    def __init__(self):
        self.seen: list[str] = []

    def requestheaders(self, flow):
        self.seen.append("requestheaders")

    async def request(self, flow):
        self.seen.append("request")


class Interceptor:
    def requestheaders(self, flow):
        flow.intercept()


def blocking(hook):
    hook.blocking = True  # what mitmproxy's Layer sets on a hook it waits for
    return hook


@pytest.mark.anyio
async def test_writes_to_one_peer_are_joined_and_nothing_is_reordered(addons):
    client, server = tflow.tclient_conn(), tflow.tserver_conn()
    log = commands.Log("between")

    def script(event):
        yield commands.SendData(client, b"head ")
        yield commands.SendData(client, b"body")
        yield log
        yield commands.SendData(client, b"next")
        yield commands.SendData(server, b"upstream")
        yield commands.SendData(client, b"last")

    out = list(InlineHooks(ScriptedLayer(script), Handler(addons)).handle_event(events.Start()))
    assert [(type(c).__name__, getattr(c, "data", None)) for c in out] == [
        ("SendData", b"head body"),
        ("Log", None),
        ("SendData", b"next"),
        ("SendData", b"upstream"),
        ("SendData", b"last"),
    ]
    assert isinstance(out[0], commands.SendData)
    assert isinstance(out[3], commands.SendData)
    assert out[0].connection is client
    assert out[3].connection is server


@pytest.mark.anyio
async def test_a_hook_whose_handlers_return_at_once_completes_inline(addons):
    calls = Calls()
    addons.add(calls)
    hook = blocking(HttpRequestHeadersHook(tflow.tflow()))

    def script(event):
        if isinstance(event, events.Start):
            yield hook
        else:
            yield commands.Log("completed")

    layer = ScriptedLayer(script)
    handler = Handler(addons)
    out = list(InlineHooks(layer, handler).handle_event(events.Start()))
    assert calls.seen == ["requestheaders"]
    # The layer got its HookCompleted in the same call; the hook never reached the server.
    assert isinstance(layer.received[1], events.HookCompleted)
    assert layer.received[1].command is hook
    assert [type(c).__name__ for c in out] == ["Log"]
    assert handler.later == []


@pytest.mark.anyio
async def test_a_hook_with_an_awaiting_handler_is_finished_by_a_task(addons):
    calls = Calls()
    addons.add(calls)
    hook = blocking(HttpRequestHook(tflow.tflow()))
    layer = ScriptedLayer(lambda event: iter([hook]))
    handler = Handler(addons)
    out = list(InlineHooks(layer, handler).handle_event(events.Start()))
    assert out == []
    assert len(layer.received) == 1  # no HookCompleted yet: the task sends it
    assert [h for h, _ in handler.later] == [hook]
    assert calls.seen == []  # an async handler starts only when awaited
    pending = handler.later[0][1]
    assert pending is not None
    await pending
    assert calls.seen == ["request"]


@pytest.mark.anyio
async def test_an_intercepted_flow_waits_for_its_resume_in_a_task(addons):
    addons.add(Interceptor())
    flow = tflow.tflow()
    hook = blocking(HttpRequestHeadersHook(flow))
    layer = ScriptedLayer(lambda event: iter([hook]))
    handler = Handler(addons)
    list(InlineHooks(layer, handler).handle_event(events.Start()))
    assert flow.intercepted
    assert handler.later == [(hook, None)]
    assert len(layer.received) == 1


def test_forking_a_context_gives_what_mitmproxy_s_fork_gives():
    original = Context(tflow.tclient_conn(), options.Options())
    original.layers = ["a", "b"]  # type: ignore[list-item]
    ours, theirs = fork_context(original), Context.__dict__["fork"](original)
    assert vars(ours).keys() == vars(theirs).keys()
    assert ours.client is theirs.client is original.client
    assert ours.options is theirs.options is original.options
    assert ours.server is theirs.server is original.server
    assert ours.layers == theirs.layers == ["a", "b"]
    assert ours.layers is not original.layers


def test_mitmproxy_still_builds_its_handlers_where_install_replaces_them(monkeypatch):
    # Pinned to mitmproxy 11.0.2: servers build `ProxyConnectionHandler(...)` by that module
    # name, and Context.fork is what the HTTP layer calls per request.
    monkeypatch.setattr(mode_servers, "ProxyConnectionHandler", mode_servers.ProxyConnectionHandler)
    monkeypatch.setattr(Context, "fork", Context.fork)
    source = inspect.getsource(mode_servers.AsyncioServerInstance.handle_stream)
    assert "ProxyConnectionHandler(" in source
    assert "self.context.fork()" in inspect.getsource(HttpLayer.make_stream)
    connection_handler.install()
    assert mode_servers.ProxyConnectionHandler is FicusConnectionHandler
    assert Context.fork is fork_context


class TaskWatcher:
    """Notes the asyncio task each hook of a flow ran in."""

    def __init__(self):
        self.tasks: dict[str, str] = {}

    def _note(self, name):
        task = asyncio.current_task()
        self.tasks[name] = task.get_name() if task else "-"

    def requestheaders(self, flow):
        self._note("requestheaders")

    def response(self, flow):
        self._note("response")


@pytest.mark.anyio
async def test_through_the_real_master_only_the_forwarding_hook_gets_a_task(tmp_path, monkeypatch):
    # build_master patches mitmproxy for the process; other tests here expect it unpatched.
    monkeypatch.setattr(http.MessageData, "__post_init__", http.MessageData.__post_init__)
    monkeypatch.setattr(mode_servers, "ProxyConnectionHandler", mode_servers.ProxyConnectionHandler)
    monkeypatch.setattr(Context, "fork", Context.fork)

    async def upstream(reader, writer):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    backend = await asyncio.start_server(upstream, "127.0.0.1", 0)
    backend_port = backend.sockets[0].getsockname()[1]
    settings = dataclasses.replace(config(tmp_path), legacy_url=f"http://127.0.0.1:{backend_port}")
    proxy = build_master(settings)
    watcher = TaskWatcher()
    proxy.addons.add(watcher)
    running = asyncio.get_running_loop().create_task(proxy.run())
    try:
        server = proxy.addons.get("proxyserver")
        for _ in range(100):
            if server.listen_addrs():
                break
            await asyncio.sleep(0.05)
        host, port = server.listen_addrs()[0][:2]
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(b"GET /api/unrouted HTTP/1.1\r\nHost: ficus\r\nConnection: close\r\n\r\n")
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        await writer.wait_closed()
    finally:
        proxy.shutdown()
        await running
        # mitmproxy leaves its listening socket to the process's exit; a test closes it.
        await proxy.addons.get("proxyserver").servers.update([])
        backend.close()
        await backend.wait_closed()
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert answer.endswith(b"\r\n\r\nok")
    # requestheaders ran in the connection's own task; response in the task that forwarded.
    assert not watcher.tasks["requestheaders"].startswith("handle_hook")
    assert watcher.tasks["response"].startswith("handle_hook(request)")
