"""The h11/h2 override in requirements.lock is installed, and mitmproxy still works with it.

mitmproxy 11.0.2 pins h11<=0.14 and h2<=4.1, releases with request-smuggling flaws (h11:
CVE-2025-43859, lenient chunk terminators). The lock installs h11 0.16 and h2 4.3 over the pins
with `pip install --no-deps`; nothing else would notice if a refresh of the lock lost them,
or if mitmproxy stopped proxying with them. These tests run a real `manage.py runproxy` and:

- read the expected versions from requirements.lock, so the test follows the lock;
- send a chunked request body over a raw socket and see it arrive whole at the backend;
- speak HTTP/2 over TLS (ALPN h2) to the proxy with httpx;
- send the CVE-2025-43859 shape (a chunk followed by two bytes that are not CRLF, hiding a
  second request): h11 0.16 refuses it, so the backend never sees the smuggled request.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Iterable
from importlib.metadata import version

import httpx
import pytest

from tests.proxy.processes import ROOT, raw_exchange, running_proxy, status_of
from tests.support.backends import recording_backend


class PreferH2Context(ssl.SSLContext):
    """Offer h2 before http/1.1 in ALPN, as browsers do.

    httpcore offers ["http/1.1", "h2"] and mitmproxy honours the client's order, so a stock
    httpx client always ends up on HTTP/1.1 through mitmproxy.
    """

    def set_alpn_protocols(self, alpn_protocols: Iterable[str]) -> None:
        super().set_alpn_protocols(sorted(alpn_protocols, key=lambda p: p != "h2"))


def locked_version(package: str) -> str:
    lock = (ROOT / "requirements.lock").read_text()
    match = re.search(rf"^{re.escape(package)}==([^\s#]+)", lock, re.MULTILINE | re.IGNORECASE)
    assert match, f"{package} is not pinned in requirements.lock"
    return match.group(1)


@pytest.mark.parametrize(("package", "floor"), [("h11", (0, 16)), ("h2", (4, 3))])
def test_the_locked_overrides_are_installed(package, floor):
    expected = locked_version(package)
    assert version(package) == expected
    # And the lock itself still carries the fixed releases.
    assert tuple(int(x) for x in expected.split(".")[:2]) >= floor


def test_mitmproxy_is_the_locked_release():
    assert version("mitmproxy") == locked_version("mitmproxy")


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("dependencies")
    plans = workdir / "plans"
    plans.mkdir()  # no plans: everything goes to the one backend
    with (
        recording_backend("legacy") as backend,
        running_proxy(workdir, legacy_url=backend.url, plans_dir=plans) as proxy,
    ):
        yield proxy, backend


@pytest.fixture
def proxy_and_backend(proxied):
    proxy, backend = proxied
    backend.clear()
    return proxy, backend


def test_a_chunked_request_body_arrives_whole(proxy_and_backend):
    proxy, backend = proxy_and_backend
    raw = raw_exchange(
        proxy.port,
        b"POST /api/appointments HTTP/1.1\r\nHost: hospital.example\r\n"
        b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\n\r\n"
        b'9\r\n{"PAT_ID"\r\n'
        b"4\r\n: 17\r\n"
        b"1;ext=1\r\n}\r\n"
        b"0\r\n\r\n",
    )
    assert status_of(raw) == 200
    (received,) = backend.requests
    assert received.body == b'{"PAT_ID": 17}'
    # Re-framed by the proxy: the backend never parses chunked framing from a client.
    assert received.header("Transfer-Encoding") is None
    assert received.header("Content-Length") == "14"


def test_http2_over_tls_is_proxied(proxy_and_backend):
    proxy, backend = proxy_and_backend
    url = f"https://127.0.0.1:{proxy.port}"
    tls = PreferH2Context(ssl.PROTOCOL_TLS_CLIENT)
    # Trust exactly the CA the proxy generated in its confdir: the certificate is real.
    tls.load_verify_locations(proxy.confdir / "mitmproxy-ca-cert.pem")
    with httpx.Client(http2=True, verify=tls, timeout=10) as client:
        get = client.get(f"{url}/api/patients/3")
        post = client.post(f"{url}/api/appointments", content=b'{"PAT_ID": 17}')
    assert get.http_version == "HTTP/2"
    assert get.status_code == 200
    assert get.json()["backend"] == "legacy"
    assert post.http_version == "HTTP/2"
    first, second = backend.requests
    assert (first.method, first.path) == ("GET", "/api/patients/3")
    assert (second.method, second.path, second.body) == (
        "POST",
        "/api/appointments",
        b'{"PAT_ID": 17}',
    )
    assert second.header("X-Forwarded-Proto") == "https"


def test_a_bad_chunk_terminator_cannot_smuggle_a_second_request(proxy_and_backend):
    proxy, backend = proxy_and_backend
    # h11 <= 0.14 skipped any two bytes after a chunk ("XX" here), read "45" as a 2-byte
    # chunk, and then took "GET /smuggled" as a second, pipelined request.
    raw = raw_exchange(
        proxy.port,
        b"GET /one HTTP/1.1\r\nHost: hospital.example\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nAAAAAXX2\r\n45\r\n0\r\n\r\n"
        b"GET /smuggled HTTP/1.1\r\nHost: hospital.example\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n",
    )
    # h11 0.16 refuses the chunk terminator: mitmproxy drops the connection, and nothing of
    # it, neither /one (its body never completed) nor /smuggled, reaches the backend.
    assert b" 200 " not in raw
    assert "/smuggled" not in backend.paths()
    assert len(backend.requests) <= 1
    # The proxy is still healthy for everyone else.
    assert httpx.get(f"{proxy.url}/after", timeout=10).status_code == 200
    assert backend.paths()[-1] == "/after"
