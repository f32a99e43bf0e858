"""Request bodies have a deadline on mod_reqtimeout's model (proxy/mitm_patches/body_deadline.py).

A real proxy with `--body-timeout 1 --body-min-rate 51200` (1 s, plus one per 50 KiB received)
and a budget of 512 KiB of bodies, in front of a raw recording backend. An outsider who sends
200 KiB and then trickles is answered 408 in the face its target names, access-logged, and its
budget bytes are free again: a clinician's upload that did not fit beside it fits now. A
clinician whose body arrives at twice the minimum rate keeps going past the first allowance
and is forwarded whole. An HTTP/2 stream whose body stalls gets its 408 on that stream.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons

from proxy.mitm_patches.body_deadline import BodyDeadline
from tests.proxy.h2_client import H2Client
from tests.proxy.processes import (
    answered,
    read_answer,
    recorder_fixtures,
    status_of,
    upload_head,
)
from tests.support.ports import LOOPBACK

HOST = b"Host: hospital.example\r\n"
KIB = 1024
RATE = 50 * KIB

world, w = recorder_fixtures(
    "body-deadline",
    extra_args=[
        *("--body-timeout", "1", "--body-min-rate", str(RATE)),
        *("--max-body", "512k", "--max-buffered-bodies", "512k"),
    ],
)


def test_an_outsiders_trickled_body_gets_408_and_gives_its_budget_back(w):
    proxy, backend = w
    size = 500 * KIB
    with socket.create_connection((LOOPBACK, proxy.port), timeout=20) as slow:
        # 200 KiB at once (they buy 4 s), then a byte a tenth of a second: far behind.
        slow.sendall(upload_head(b"/api/uploads", size) + b"x" * (200 * KIB))
        assert not answered(slow, 0.5)  # time for the proxy to read them
        with socket.create_connection((LOOPBACK, proxy.port), timeout=20) as early:
            early.sendall(upload_head(b"/api/uploads", 400 * KIB))
            assert status_of(read_answer(early)) == 503  # no room beside the slow body
        sent = 200 * KIB
        give_up = time.monotonic() + 20  # bounds the loop; before the deadline: no answer
        with contextlib.suppress(OSError):
            while time.monotonic() < give_up and not answered(slow, 0.1):
                slow.sendall(b"x")
                sent += 1
        answer = read_answer(slow)
    head, body = answer.split(b"\r\n\r\n", 1)
    assert status_of(answer) == 408
    assert b"application/json" in head.lower()
    assert json.loads(body)["CODE"] == 914  # the legacy shape on /api
    assert sent < size  # refused mid-body
    assert backend.exchanges == []
    (line,) = [x for x in proxy.log_lines() if x.get("error") == "body_timeout"]
    assert (line["status"], line["route"], line["method"]) == (408, "-", "POST")
    # Its 200 KiB were given back with the answer: 400 KiB fit now.
    with socket.create_connection((LOOPBACK, proxy.port), timeout=20) as clinician:
        clinician.sendall(upload_head(b"/api/uploads", 400 * KIB) + b"z" * (400 * KIB))
        assert status_of(read_answer(clinician)) == 200
    assert [len(body) for _request, body in backend.requests()] == [400 * KIB]


def test_a_clinicians_body_at_twice_the_minimum_rate_outlives_the_first_allowance(w):
    proxy, backend = w
    chunks = 30  # 10 KiB each, a tenth of a second apart: 3 s, three times the first 1 s
    with socket.create_connection((LOOPBACK, proxy.port), timeout=20) as sock:
        sock.sendall(upload_head(b"/v2/uploads", chunks * 10 * KIB))
        for _ in range(chunks):
            assert not answered(sock, 0.1)
            sock.sendall(b"x" * (10 * KIB))
        assert status_of(read_answer(sock)) == 200
    assert [len(body) for _request, body in backend.requests()] == [chunks * 10 * KIB]


def test_an_http2_body_that_falls_behind_gets_408_on_its_stream(w):
    proxy, backend = w
    client = H2Client(proxy.port)
    try:
        stream_id = client.conn.get_next_available_stream_id()
        headers = [
            (":method", "POST"),
            (":scheme", "https"),
            (":authority", "hospital.example"),
            (":path", "/fhir/Binary"),
            ("content-length", str(100 * KIB)),
        ]
        client.conn.send_headers(stream_id, headers)
        client.conn.send_data(stream_id, b"x" * 10)  # and nothing more
        client.flush()
        client.read_until({stream_id})
    finally:
        client.close()
    assert client.statuses[stream_id] == 408
    assert backend.exchanges == []
    assert [x["status"] for x in proxy.log_lines() if x.get("error") == "body_timeout"][-1] == 408


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"ficus_body_timeout": 0.0}, "ficus_body_timeout"),
        ({"ficus_body_min_rate": 0}, "ficus_body_min_rate"),
    ],
)
@pytest.mark.anyio
async def test_bad_options_fail_fast_naming_the_option(change, complaint):
    addon = BodyDeadline()
    with (
        taddons.context(addon) as tctx,
        pytest.raises(exceptions.OptionsError, match=complaint),
    ):
        tctx.configure(addon, **change)
