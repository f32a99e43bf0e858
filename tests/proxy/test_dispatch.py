"""The curated addon manager: mitmproxy's hook semantics, minus the dispatch nobody needs.

Real mitmproxy parts throughout: a `Master`, the manager under test, real hook events carrying a
test flow, and small recording addons.
"""

from __future__ import annotations

import logging

import pytest
from mitmproxy import exceptions, http, master, options
from mitmproxy.proxy.layers.http._hooks import HttpRequestHook, HttpResponseHook
from mitmproxy.test import tflow

from proxy.dispatch import CuratedAddonManager
from proxy.mitm_patches.typechecks import skip_debug_typechecks


@pytest.fixture
def anyio_backend():
    return "asyncio"


class Recorder:
    def __init__(self, name: str, calls: list[str]) -> None:
        self.name = name
        self.calls = calls

    def request(self, flow) -> None:
        self.calls.append(f"{self.name}.request")


class AsyncRecorder:
    def __init__(self, name: str, calls: list[str]) -> None:
        self.name = name
        self.calls = calls

    async def request(self, flow) -> None:
        self.calls.append(f"{self.name}.request(async)")


class Parent(Recorder):
    def __init__(self, name: str, calls: list[str]) -> None:
        super().__init__(name, calls)
        self.addons = [Recorder(f"{name}-child", calls)]


class Halting(Recorder):
    def request(self, flow) -> None:
        self.calls.append(f"{self.name}.halt")
        raise exceptions.AddonHalt


class Broken(Recorder):
    def request(self, flow) -> None:
        raise RuntimeError("broken addon")


class UpdateWatcher(Recorder):
    def update(self, flows) -> None:
        self.calls.append(f"{self.name}.update")


@pytest.fixture
async def manager():
    proxy = master.Master(options.Options())
    manager = CuratedAddonManager(proxy)
    proxy.addons = manager
    return manager


@pytest.mark.anyio
async def test_handlers_run_in_chain_order_children_after_their_parent(manager):
    calls: list[str] = []
    manager.add(Recorder("a", calls), Parent("b", calls), AsyncRecorder("c", calls))
    await manager.handle_lifecycle(HttpRequestHook(tflow.tflow()))
    assert calls == ["a.request", "b.request", "b-child.request", "c.request(async)"]


@pytest.mark.anyio
async def test_an_event_nobody_handles_calls_nothing_and_no_update_follows(manager):
    calls: list[str] = []
    manager.add(Recorder("a", calls))
    await manager.handle_lifecycle(HttpResponseHook(tflow.tflow(resp=True)))
    assert calls == []
    assert manager.handlers("response") == ()


@pytest.mark.anyio
async def test_update_follows_a_flow_event_only_when_an_addon_handles_it(manager):
    calls: list[str] = []
    manager.add(Recorder("a", calls))
    await manager.handle_lifecycle(HttpRequestHook(tflow.tflow()))
    assert calls == ["a.request"]
    manager.add(UpdateWatcher("w", calls))  # a new addon: the handlers are looked up again
    await manager.handle_lifecycle(HttpRequestHook(tflow.tflow()))
    assert calls == ["a.request", "a.request", "w.request", "w.update"]


@pytest.mark.anyio
async def test_addon_halt_stops_the_event(manager):
    calls: list[str] = []
    manager.add(Halting("h", calls), Recorder("after", calls))
    await manager.trigger_event(HttpRequestHook(tflow.tflow()))
    assert calls == ["h.halt"]


@pytest.mark.anyio
async def test_a_failing_addon_is_logged_and_the_next_one_still_runs(manager, caplog):
    calls: list[str] = []
    manager.add(Broken("x", calls), Recorder("after", calls))
    with caplog.at_level(logging.ERROR, logger="proxy.dispatch"):
        await manager.trigger_event(HttpRequestHook(tflow.tflow()))
    assert calls == ["after.request"]
    assert "Addon error: broken addon" in caplog.text


@pytest.mark.anyio
async def test_a_removed_addon_gets_no_more_events(manager):
    calls: list[str] = []
    gone = Recorder("gone", calls)
    manager.add(gone, Recorder("kept", calls))
    await manager.trigger_event(HttpRequestHook(tflow.tflow()))
    manager.remove(gone)
    await manager.trigger_event(HttpRequestHook(tflow.tflow()))
    assert calls == ["gone.request", "kept.request", "kept.request"]


def test_skipping_the_debug_typechecks_builds_messages_without_them(monkeypatch):
    # Restore mitmproxy's check after this test: other tests share the process.
    monkeypatch.setattr(http.MessageData, "__post_init__", http.MessageData.__post_init__)

    def response() -> http.Response:
        return http.Response(b"HTTP/1.1", 200, b"OK", http.Headers(), b"", None, 1.0, "late")  # type: ignore[arg-type]

    with pytest.raises(TypeError):
        response()  # a str where a float belongs: mitmproxy's debug check catches it
    skip_debug_typechecks()
    assert response().status_code == 200
