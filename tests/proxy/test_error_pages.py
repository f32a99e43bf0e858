"""Errors mitmproxy finds before any addon hook are answered as the proxy, in the client's format.

A real `manage.py runproxy --max-body 1k` in front of a raw recording backend. mitmproxy 11.0.2
refuses a head it cannot parse or whose framing it refuses (400), and a body over the limit (413),
with its own page: HTML, `Server: mitmproxy 11.0.2`, whatever the face, and the access log used to
record those with `"status": null`. `proxy.mitm_patches.error_pages` makes them the proxy's answers
(`domain.answers`): legacy JSON on /api, HTML elsewhere, over HTTP/1 and HTTP/2.
"""

from __future__ import annotations

import json
import socket
import ssl

import h2.config
import h2.connection
import h2.events
import pytest

from tests.proxy.processes import (
    BACKEND,
    SHIPPED_PLANS,
    raw_exchange,
    recorder_fixtures,
    status_of,
)
from tests.support.ports import LOOPBACK

KEY = "an-identity-key-for-tests-only-0123456789"
HOST = b"Host: hospital.example\r\n"


world, w = recorder_fixtures(
    "error-pages",
    plans={"appointments.yaml": (SHIPPED_PLANS / "appointments.yaml").read_text()},
    env={"FICUS_UPSTREAM_APPOINTMENTS": BACKEND, "FICUS_IDENTITY_KEY": KEY},
    extra_args=("--max-body", "1k"),
)


def split(raw: bytes) -> tuple[dict[bytes, bytes], bytes]:
    head, body = raw.split(b"\r\n\r\n", 1)
    fields = [line.split(b":", 1) for line in head.split(b"\r\n")[1:]]
    return {name.strip().lower(): value.strip() for name, value in fields}, body


def assert_the_proxys_own(headers: dict[bytes, bytes], raw: bytes) -> None:
    assert b"server" not in headers
    assert b"mitmproxy" not in raw.lower()
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert headers[b"cache-control"] == b"no-store"


MALFORMED = {
    "header-line-without-colon": b"GET /api/appointments/7 HTTP/1.1\r\n" + HOST + b"oops\r\n\r\n",
    "content-length-with-transfer-encoding": (
        b"POST /api/appointments HTTP/1.1\r\n"
        + HOST
        + b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "bad-content-length": b"POST /api/appointments HTTP/1.1\r\n"
    + HOST
    + b"Content-Length: x\r\n\r\n",
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_an_outsiders_malformed_head_on_the_api_gets_legacy_json(w, data):
    proxy, backend = w
    raw = raw_exchange(proxy.port, data)
    headers, body = split(raw)
    assert status_of(raw) == 400
    assert headers[b"content-type"] == b"application/json"
    answer = json.loads(body)
    assert answer["CODE"] == 300
    assert answer["ERR"].startswith("BAD REQUEST: ")
    assert_the_proxys_own(headers, raw)
    assert backend.exchanges == []


def test_a_head_mitmproxy_cannot_parse_gets_a_line_without_its_target_or_headers(w):
    proxy, backend = w
    head = b"GET /api/appointments/7?mrn=MRN-SECRET HTTP/1.1\r\n" + HOST + b"oops-SECRET\r\n\r\n"

    before = len(proxy.log_lines())

    assert status_of(raw_exchange(proxy.port, head)) == 400

    (line,) = proxy.log_lines()[before:]
    assert line["error"] == "head_unparsable"
    assert (line["status"], line["method"], line["route"], line["client"]) == (
        400,
        "GET",
        "-",
        LOOPBACK,
    )
    assert "SECRET" not in json.dumps(line)
    assert "appointments" not in json.dumps(line)
    assert backend.exchanges == []


def test_an_outsiders_malformed_head_on_a_page_gets_html_without_mitmproxys_name(w):
    proxy, _backend = w
    raw = raw_exchange(proxy.port, b"GET /login HTTP/1.1\r\n" + HOST + b"oops\r\n\r\n")
    headers, body = split(raw)
    assert status_of(raw) == 400
    assert headers[b"content-type"] == b"text/html; charset=utf-8"
    assert b"<h1>400 Bad Request</h1>" in body
    assert_the_proxys_own(headers, raw)


def test_a_clinicians_body_over_the_limit_gets_413_in_the_legacy_shape_and_is_logged(w):
    proxy, backend = w
    data = b"POST /api/appointments HTTP/1.1\r\n" + HOST + b"Content-Length: 2048\r\n\r\n"
    raw = raw_exchange(proxy.port, data + b"x" * 2048)
    headers, body = split(raw)
    assert status_of(raw) == 413
    assert json.loads(body) == {
        "ERR": "REQUEST ENTITY TOO LARGE: THE REQUEST BODY IS LARGER THAN THE CONFIGURED LIMIT "
        "(--MAX-BODY)",
        "CODE": 910,
    }
    assert_the_proxys_own(headers, raw)
    assert backend.exchanges == []
    line = proxy.log_lines()[-1]
    assert (line["status"], line["error"]) == (413, "body_too_large")


def test_a_framing_refusal_is_logged_with_its_status(w):
    proxy, _backend = w
    raw_exchange(proxy.port, MALFORMED["content-length-with-transfer-encoding"])
    line = proxy.log_lines()[-1]
    assert (line["status"], line["error"]) == (400, "bad_request")


def h2_post(port: int, path: bytes, body: bytes) -> tuple[dict[bytes, bytes], bytes]:
    """One HTTP/2 POST; the response headers and body."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    headers: dict[bytes, bytes] = {}
    received = b""
    with (
        socket.create_connection((LOOPBACK, port), timeout=10) as raw_sock,
        context.wrap_socket(raw_sock, server_hostname="hospital.example") as sock,
    ):
        conn.initiate_connection()
        request = [
            (b":method", b"POST"),
            (b":scheme", b"https"),
            (b":authority", b"hospital.example"),
            (b":path", path),
            (b"content-length", str(len(body)).encode()),
        ]
        conn.send_headers(1, request)
        conn.send_data(1, body, end_stream=True)
        sock.sendall(conn.data_to_send())
        while True:
            data = sock.recv(65536)
            if not data:
                return headers, received
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    headers = dict(event.headers)
                elif isinstance(event, h2.events.DataReceived):
                    received += event.data
                elif isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                    return headers, received
            sock.sendall(conn.data_to_send())


def test_an_http2_body_over_the_limit_gets_413_in_the_legacy_shape(w):
    proxy, backend = w
    headers, body = h2_post(proxy.port, b"/api/appointments", b"x" * 2048)
    assert headers[b":status"] == b"413"
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"x-content-type-options"] == b"nosniff"
    assert b"server" not in headers
    assert json.loads(body)["CODE"] == 910
    assert backend.exchanges == []
