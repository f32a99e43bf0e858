"""HTTP/2 rapid reset is not amplified: an outsider's cancelled streams never reach legacy.

A real proxy process in front of a raw recording legacy app (tests/proxy/raw_recorder.py). The
outsider speaks HTTP/2 over TLS with the `h2` package, writing raw frames: a thousand streams,
each opened (HEADERS with END_STREAM) and at once cancelled (RST_STREAM), in one write, then
one ordinary request to see that the connection still serves. Legacy must see a bounded number
of requests over a bounded number of connections (it used to see all thousand, over ~950
connections). A clinician's browser that opens many streams without cancelling them gets every
answer: the per-connection limits queue requests, they refuse none.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import h2.errors
import h2.settings
import pytest

from proxy.mitm_patches.h2_server import MAX_CONCURRENT_STREAMS, MAX_UPSTREAM_PER_CLIENT
from tests.proxy.h2_client import H2Client
from tests.proxy.processes import running_proxy
from tests.proxy.raw_recorder import raw_recorder

STREAMS = 1000


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("h2-reset")
    plans = workdir / "plans"
    plans.mkdir()
    with (
        raw_recorder() as legacy,
        running_proxy(workdir, legacy_url=legacy.url, plans_dir=plans) as proxy,
    ):
        yield proxy, legacy


def settled(count: Callable[[], int], quiet: float = 1.0, limit: float = 15.0) -> int:
    """count() once it has stopped growing for `quiet` seconds (stragglers included)."""
    deadline = time.monotonic() + limit
    last, since = count(), time.monotonic()
    while time.monotonic() < deadline:
        threading.Event().wait(0.1)
        now = count()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return last


def test_an_outsiders_thousand_cancelled_streams_reach_legacy_a_bounded_number_of_times(world):
    proxy, legacy = world
    legacy.clear()
    outsider = H2Client(proxy.port)
    try:
        for n in range(STREAMS):
            stream_id = outsider.request(f"/api/visits/{n}")
            outsider.conn.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
        outsider.flush()  # one write: every HEADERS and its RST_STREAM
        last = outsider.request("/api/visits/after")
        outsider.flush()
        outsider.read_until({last})
        assert outsider.terminated is None
        assert outsider.statuses[last] == 200  # the connection still serves
    finally:
        outsider.close()
    reached = settled(lambda: len(legacy.requests()))
    connections = len(legacy.exchanges)
    assert 1 <= reached <= MAX_UPSTREAM_PER_CLIENT + 1, reached
    assert 1 <= connections <= MAX_UPSTREAM_PER_CLIENT + 1, connections
    assert b"/api/visits/after" in [request.target for request, _ in legacy.requests()]
    # Each cancelled stream is logged as the client's leaving, counted nowhere.
    lines = [x for x in proxy.log_lines() if x["status"] is None]
    assert len(lines) >= STREAMS - MAX_UPSTREAM_PER_CLIENT
    assert {x["error"] for x in lines} == {"client_disconnected"}


def test_the_proxy_advertises_its_stream_limit(world):
    proxy, _legacy = world
    client = H2Client(proxy.port)
    try:
        stream_id = client.request("/api/visits/1")
        client.flush()
        client.read_until({stream_id})
    finally:
        client.close()
    assert client.statuses[stream_id] == 200
    assert client.server_settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] == (
        MAX_CONCURRENT_STREAMS
    )


def test_a_clinicians_many_parallel_streams_are_all_answered(world):
    proxy, legacy = world
    legacy.clear()
    clinician = H2Client(proxy.port)
    try:
        streams = {clinician.request(f"/api/visits/{n}") for n in range(MAX_CONCURRENT_STREAMS)}
        clinician.flush()
        clinician.read_until(streams)
    finally:
        clinician.close()
    assert clinician.terminated is None
    assert [clinician.statuses[s] for s in sorted(streams)] == [200] * len(streams)
    assert settled(lambda: len(legacy.requests())) == MAX_CONCURRENT_STREAMS
    # Forwarded a few at a time: one client connection holds few upstream connections.
    assert 1 <= len(legacy.exchanges) <= MAX_UPSTREAM_PER_CLIENT


def test_an_outsider_opening_more_streams_than_advertised_loses_the_connection(world):
    proxy, legacy = world
    legacy.clear()
    outsider = H2Client(proxy.port)
    outsider.conn.remote_settings.max_concurrent_streams = STREAMS  # ignores the proxy's limit
    try:
        for n in range(MAX_CONCURRENT_STREAMS * 4):
            outsider.request(f"/api/visits/{n}")
        outsider.flush()
        outsider.read_until({-1})
    finally:
        outsider.close()
    assert outsider.terminated is not None  # GOAWAY
    assert outsider.terminated.error_code == h2.errors.ErrorCodes.PROTOCOL_ERROR
    reached = settled(lambda: len(legacy.requests()))
    assert reached <= MAX_CONCURRENT_STREAMS
