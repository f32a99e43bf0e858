"""What the autopilot's end-to-end tests share: a plan directory, traffic, a slow upstream.

The plans are the shipped ones with the appointment routes in `shadow`, small gates and a fast
`autopilot:` section, so a whole canary fits in seconds. The traffic is a clinician reading
appointments through the proxy. The slow upstream is a real HTTP hop on loopback that answers
everything the service answers, late.
"""

from __future__ import annotations

import http.client
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from demo.launcher import REPO_ROOT
from tests.e2e.clients import logged_in

SHIPPED_PLANS = REPO_ROOT / "migration_plans" / "plans"
READ_ROUTE = "GET /api/appointments/{id:int}"

# Gates small enough for a test's traffic. A p99 ratio is a property of the machine as much as
# of the service: on a shared 2-core machine a correct service's answers are tens of times
# slower than legacy's, so only the slow-service test sets one (`max_p99_ratio`), loose
# enough for that and far below what a service seconds late shows.
GATES = """gates:
  shadow:
    max_sync_lag_seconds: 5
  canary:
    min_samples: 20
    max_error_rate: 0.01
    max_sync_lag_seconds: 5
    min_compared: 40
    max_diff_rate: 0.01{p99}
  migrated:
    min_samples: 20
    max_error_rate: 0.01
    max_sync_lag_seconds: 5{p99}
"""
AUTOPILOT = """autopilot:
  interval_seconds: 0.5
  steps: [10, 50]
  dwell_seconds: 1
  min_samples: 20
  failure_threshold: 2
  rollback_on: [max_error_rate, max_diff_rate]
  rollback_to: legacy
"""


def autopilot_plans(directory: Path, *, max_p99_ratio: float | None = None) -> Path:
    """The shipped plans, with appointments ready for the autopilot (its routes in shadow)."""
    directory.mkdir(parents=True, exist_ok=True)
    for plan in SHIPPED_PLANS.glob("*.yaml"):
        shutil.copy(plan, directory / plan.name)
    path = directory / "appointments.yaml"
    text = path.read_text()
    # The whole feature starts in shadow: the autopilot moves a feature's routes together.
    text, moved = re.subn(r"(?m)^    phase: (legacy|migrated)$", "    phase: shadow", text)
    assert moved == 5, "the shipped appointments plan has other routes"
    # The clinician only reads: without canary writes, the writes wait in shadow while the reads
    # go through the canary, and the canary's comparison gates judge the reads that move (each
    # moving route needs comparisons of its own; a write would need dry-run writes compared).
    text, replaced = re.subn(r"(?m)^canary_writes: true$", "canary_writes: false", text)
    assert replaced == 1, "the shipped appointments plan no longer sets canary_writes"
    # A loaded machine answers a shadow copy late; a timeout would count as a service error.
    text = text.replace("  timeout_seconds: 2\n", "  timeout_seconds: 8\n")
    p99 = "" if max_p99_ratio is None else f"\n    max_p99_ratio: {max_p99_ratio:g}"
    gates = GATES.format(p99=p99)
    text, replaced = re.subn(r"(?ms)^gates:\n.*?(?=^shadow:)", lambda _: gates, text)
    assert replaced == 1, "the shipped appointments plan has no gates section to replace"
    path.write_text(text + AUTOPILOT)
    return directory


class Traffic:
    """A clinician reading the given appointments through the proxy, round and round, and the
    day lists they are on (each moving read route needs comparisons of its own)."""

    def __init__(self, proxy_url: str, ids: Sequence[int], lists: Sequence[str] = ()) -> None:
        self._proxy_url, self._ids, self._lists = proxy_url, list(ids), list(lists)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clinician", daemon=True)
        self.statuses: dict[int, int] = {}

    def _run(self) -> None:
        with logged_in(self._proxy_url, "clinician") as clinician:
            while not self._stop.is_set():
                paths = [*self._lists, *(f"/api/appointments/{i}" for i in self._ids)]
                for path in paths:
                    if self._stop.is_set():
                        return
                    status = clinician.get(path).status_code
                    self.statuses[status] = self.statuses.get(status, 0) + 1

    @contextmanager
    def running(self) -> Iterator[Traffic]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(timeout=15)


def eventually(what: str, check: Callable[[], Any], timeout: float = 45.0) -> Any:
    """Poll `check` until it returns something true; bounded, never a timing assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting until {what}")


class _Late(BaseHTTPRequestHandler):
    """Forwards every request to the service, and answers its work after `delay` seconds."""

    server: SlowUpstream

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if not self.path.startswith("/__ficus/"):  # slow at its work, its health check is fine
            time.sleep(self.server.delay)
        target = http.client.HTTPConnection(self.server.target_host, self.server.target_port)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            target.request(self.command, self.path, body=body, headers=headers)
            answer = target.getresponse()
            payload = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        finally:
            target.close()

    do_GET = do_POST = do_PUT = do_DELETE = _forward

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the proxy's access log has every request


class SlowUpstream(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, target_port: int, delay: float) -> None:
        super().__init__(("127.0.0.1", port), _Late)
        self.target_host, self.target_port, self.delay = "127.0.0.1", target_port, delay

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @contextmanager
    def serving(self) -> Iterator[SlowUpstream]:
        thread = threading.Thread(target=self.serve_forever, name="slow-upstream", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.shutdown()
            self.server_close()
            thread.join(timeout=5)
