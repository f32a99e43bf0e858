"""The benchmarks' other forwarders (bench/forwarders.py) still run the whole proxy.

Not production code, but `make bench` compares against them: each must serve a request to the
legacy app through the same addons, and log it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from tests.proxy.processes import ROOT
from tests.support.backends import recording_backend
from tests.support.ports import free_port, wait_for_port


@pytest.mark.parametrize("forwarding", ["httpx", "mitmproxy"])
def test_a_proxy_with_a_bench_forwarder_serves_legacy(tmp_path, forwarding):
    port = free_port()
    with recording_backend("legacy") as legacy:
        command = [
            sys.executable,
            *("-m", "bench.forwarders", "--forwarding", forwarding),
            *("--host", "127.0.0.1", "--port", str(port), "--legacy", legacy.url),
            *("--plans", str(tmp_path), "--access-log", str(tmp_path / "access.log")),
            *("--confdir", str(tmp_path / "mitmproxy")),
        ]
        env = {**os.environ, "LEGACY_DATABASE_URL": f"sqlite:///{tmp_path / 'legacy.sqlite3'}"}
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
        try:
            wait_for_port(port, process=process)
            ok = httpx.get(f"http://127.0.0.1:{port}/api/patients?q=DOE", timeout=10)
        finally:
            process.terminate()
            process.wait(timeout=15)
    assert ok.json()["backend"] == "legacy"
    assert legacy.paths() == ["/api/patients?q=DOE"]
    lines = (tmp_path / "access.log").read_text().splitlines()
    assert [json.loads(x)["status"] for x in lines] == [200]
