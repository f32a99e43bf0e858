"""`serve` under a real gunicorn on loopback: it answers, logs no query strings, stops on TERM."""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.ports import free_port

pytestmark = pytest.mark.e2e

SECRET_NAME = "ZZQUIETNAME"


def wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited early:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"serve never listened:\n{log.read_text()}")


def call(port: int, method: str, path: str, body: str | None = None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def test_serve_answers_over_http_and_logs_no_query_strings(db_url, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "demo.legacy", "--database-url", db_url, "serve"),
                *("--port", str(port), "--workers", "2"),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        wait_until_listening(port, process, log)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        status, headers, _ = call(port, "POST", "/login", "login=clinician&password=demo", form)
        assert status == 302
        assert headers["Location"] == "/"
        cookie = {"Cookie": headers["Set-Cookie"].split(";")[0]}
        status, _, body = call(port, "GET", f"/api/patients?q={SECRET_NAME}", headers=cookie)
        assert (status, body) == (200, b'{"PATIENTS": [], "COUNT": 0}')
        assert call(port, "GET", f"/patients?q={SECRET_NAME}", headers=cookie)[0] == 200
        assert call(port, "GET", "/patients/42", headers=cookie)[0] == 200
        status, _, body = call(
            port, "GET", "/api/appointments?prov=1&date=20261120", headers=cookie
        )
        assert status == 200
        assert b'"COUNT"' in body
        assert call(port, "GET", "/api/session")[0] == 401
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=60)
    text = log.read_text()
    assert returncode == 0, text
    assert "GET /api/patients 200" in text
    assert "GET /patients/{id} 200" in text
    assert "GET /api/appointments 200" in text
    assert "GET /api/session 401" in text
    assert SECRET_NAME not in text
    assert "q=" not in text
    assert "?" not in text
    assert "prov=" not in text
    assert "/patients/42" not in text
    assert "password" not in text
    assert "Shutting down" in text
