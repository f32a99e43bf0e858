"""Prometheus's own tools for tests: `promtool check metrics` and scraping a /metrics page.

Debian's `prometheus` package provides both binaries; the Makefile installs it (`$(PROMETHEUS)`),
so a missing promtool fails the tests that need it instead of skipping them.
"""

from __future__ import annotations

import re
import subprocess

import httpx

PROMTOOL = "/usr/bin/promtool"
PROMETHEUS = "/usr/bin/prometheus"

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", re.MULTILINE)


def check_metrics(text: str) -> str:
    """promtool's complaints about an exposition ('' when it has none)."""
    done = subprocess.run(
        [PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    return (done.stdout + done.stderr).strip() if done.returncode else ""


def scrape(url: str) -> str:
    response = httpx.get(url, timeout=10)
    response.raise_for_status()
    return response.text


def sample_names(text: str) -> set[str]:
    """Every sample name on an exposition page (`x_total`, `x_bucket`, `x_count` ...)."""
    return {m.group(1) for m in _SAMPLE.finditer(text) if not m.group(0).startswith("#")}


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for m in _SAMPLE.finditer(text):
        if m.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total
