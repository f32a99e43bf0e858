"""A route's own read timeout, through a real proxy process before a slow legacy app.

The global read timeout is lowered to 2 s; the operator's limits give legacy's long poll
`POST /{db}/bus` 5 s. Legacy answers every request after 3 s: the long poll gets its 200, and
another route, with no limit of its own, gets the 504 of the global timeout. A limits file
with a mistake stops the proxy at start with the file, line and field.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.proxy.processes import ROOT, running_proxy
from tests.support.ports import LOOPBACK

ANSWER_AFTER_SECONDS = 3.0
LIMITS = """\
routes:
  - route: POST /{db}/bus
    read_timeout_seconds: 5
"""


class _SlowLegacy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        time.sleep(ANSWER_AFTER_SECONDS)  # a long poll: nothing to say until then
        body = b'{"message": null}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        with suppress(BrokenPipeError, ConnectionResetError):  # the proxy gave up: a 504
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def slow_legacy() -> Iterator[str]:
    server = ThreadingHTTPServer((LOOPBACK, 0), _SlowLegacy)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("route-limits")
    (workdir / "plans").mkdir()
    limits = workdir / "limits.yaml"
    limits.write_text(LIMITS)
    with slow_legacy() as legacy:
        extra = ("--read-timeout", "2", "--route-limits", str(limits))
        with running_proxy(
            workdir, legacy_url=legacy, plans_dir=workdir / "plans", extra_args=extra
        ) as running:
            yield running


def _post(proxy, path: str) -> httpx.Response:
    return httpx.post(f"{proxy.url}{path}", json={"last_message": None}, timeout=15)


def test_a_clinicians_long_poll_waits_for_legacys_answer_within_its_route_timeout(proxy):
    answer = _post(proxy, "/hospital/bus")
    assert answer.status_code == 200
    assert answer.json() == {"message": None}


def test_a_route_without_a_limit_keeps_the_global_read_timeout(proxy):
    answer = _post(proxy, "/hospital/model/res.user")
    assert answer.status_code == 504
    line = proxy.log_line(answer.headers["X-Ficus-Request-Id"])
    assert line["error"] == "upstream_timeout"


def test_an_operators_mistake_in_the_limits_stops_the_proxy_at_start(tmp_path):
    (tmp_path / "plans").mkdir()  # the limits file is no plan: it lives elsewhere
    limits = tmp_path / "limits.yaml"
    limits.write_text("routes:\n  - route: POST /{db}/bus\n    read_timeout_seconds: -1\n")
    started = subprocess.run(
        [
            sys.executable,
            "-m",
            "proxy.server",
            *("--host", LOOPBACK, "--port", "0", "--legacy", "http://127.0.0.1:9"),
            *("--plans", str(tmp_path / "plans"), "--legacy-db", f"sqlite:///{tmp_path / 'l.db'}"),
            *("--access-log", str(tmp_path / "a.log"), "--confdir", str(tmp_path / "m")),
            *("--route-limits", str(limits)),
        ],
        cwd=ROOT,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert f"{limits}:3: routes[0].read_timeout_seconds" in started.stderr
