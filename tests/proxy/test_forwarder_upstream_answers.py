"""Upstream answers the forwarder must not pass on as they came, through the real proxy.

A real `manage.py runproxy` in front of a canned legacy app (tests/proxy/canned_upstream.py):
a 204 that carries a Content-Length (RFC 9110 §8.6: it MUST NOT), a status `099` (llhttp reads
it as 99, which used to go out as `HTTP/1.1 99`), and a head over 64 KiB sent in one write (the
limit used to be checked only while a head was still incomplete). The clinician's browser gets
a 204 without Content-Length, and a generic 502 in the legacy JSON shape for the other two.
"""

from __future__ import annotations

import json

import pytest

from tests.proxy.canned_upstream import canned_upstream
from tests.proxy.processes import raw_exchange, running_proxy, status_of

KEY = "an-identity-key-for-tests-only-0123456789"
ANSWERS = {
    b"/api/visits/204": b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX-A: 1\r\n\r\n",
    b"/api/visits/99": b"HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\nok",
    b"/api/visits/big-head": (
        b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * (70 * 1024) + b"\r\nContent-Length: 2\r\n\r\nok"
    ),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("upstream-answers")
    with canned_upstream(ANSWERS) as legacy:
        env = {
            "FICUS_IDENTITY_KEY": KEY,
            "FICUS_UPSTREAM_APPOINTMENTS": legacy.url,
            "FICUS_UPSTREAM_PATIENTS": legacy.url,
        }
        with running_proxy(workdir, legacy_url=legacy.url, env=env) as proxy:
            yield proxy, legacy


def get(target: bytes) -> bytes:
    return b"GET " + target + b" HTTP/1.1\r\nHost: hospital.example\r\nConnection: close\r\n\r\n"


def test_a_clinician_gets_a_204_without_content_length(world):
    proxy, _legacy = world
    raw = raw_exchange(proxy.port, get(b"/api/visits/204"))
    head = raw.split(b"\r\n\r\n", 1)[0].lower()
    assert status_of(raw) == 204
    assert b"content-length" not in head
    assert b"x-a: 1" in head  # the rest of legacy's answer is untouched


@pytest.mark.parametrize("target", [b"/api/visits/99", b"/api/visits/big-head"])
def test_an_answer_that_is_no_http_answer_gives_a_generic_502_in_the_legacy_shape(world, target):
    proxy, _legacy = world
    raw = raw_exchange(proxy.port, get(target))
    assert raw.startswith(b"HTTP/1.1 502 ")
    body = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    assert body == {"ERR": "BAD GATEWAY: THE UPSTREAM SENT AN INVALID RESPONSE", "CODE": 920}
    assert b"aaaa" not in raw
    assert proxy.log_lines()[-1]["error"] == "upstream_garbage"
