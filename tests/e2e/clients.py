"""What the end-to-end tests do as people and read as auditors: log in, read the access log."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from demo.launcher import Stack


@contextmanager
def logged_in(base_url: str, login: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        response = client.post("/login", data={"login": login, "password": "demo"})
        assert response.status_code == 302, response.text
        assert "SESSID" in client.cookies
        yield client


def access_log(stack: Stack) -> list[dict[str, Any]]:
    lines = stack.config.access_log.read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def wait_for_log_lines(stack: Stack, count: int) -> list[dict[str, Any]]:
    # The proxy writes its log line as the response completes; allow it a moment to land.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        entries = access_log(stack)
        if len(entries) >= count:
            return entries
        time.sleep(0.05)
    return access_log(stack)
