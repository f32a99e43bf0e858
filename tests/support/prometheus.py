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

# A name, its labels (values may hold braces: route templates), and the value.
_SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?\s+(\S+)', re.MULTILINE
)


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


_TYPE = re.compile(r"^# TYPE (\S+) (\w+)$", re.MULTILINE)
_SUFFIXES = {
    "counter": ("",),  # the TYPE line names the counter with its _total
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count", ""),
    "gauge": ("",),
}


def exported_names(text: str) -> set[str]:
    """Every name a query may use: the samples on the page, and those its TYPE lines declare
    (a labelled family with no series yet still declares its name)."""
    names = sample_names(text)
    for name, kind in _TYPE.findall(text):
        names.update(name + suffix for suffix in _SUFFIXES.get(kind, ("",)))
    return names


_PROMQL_WORDS = frozenset(
    "by without on ignoring group_left group_right and or unless bool offset inf nan".split()  # noqa: SIM905
)


def promql_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (not functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings (label values, regexes)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges ([5m], [$__rate_interval])
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\$\w+", " ", text)  # dashboard variables
    names = set()
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        rest = text[m.end() :].lstrip()
        word = m.group(0)
        if rest.startswith("(") or word.lower() in _PROMQL_WORDS:
            continue  # a function or aggregation, or a keyword
        if re.fullmatch(r"\d+[a-z]*", word):
            continue
        names.add(word)
    return names
