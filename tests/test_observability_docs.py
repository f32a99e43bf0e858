"""docs/prometheus and docs/grafana: the alert rules pass promtool's own unit tests, and the
dashboard parses with one row per concern, each panel asking Prometheus something.

Which metric names they may use is checked against the real stack's /metrics pages in
tests/e2e/test_observability.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.prometheus import PROMTOOL, promql_metric_names

DOCS = Path(__file__).resolve().parents[1] / "docs"
ROWS = (
    "Traffic by phase",
    "Errors",
    "Latency",
    "Shadow diff rate",
    "Sync lag and backlog",
    "Breakers",
)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PROMTOOL, *args], cwd=DOCS / "prometheus", capture_output=True, text=True, timeout=60
    )


def test_the_alert_rules_are_valid_and_their_unit_tests_pass():
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_rule_has_a_unit_test():
    rules = (DOCS / "prometheus" / "alerts.yml").read_text()
    tests = (DOCS / "prometheus" / "alerts.test.yml").read_text()
    alerts = [line.split(":", 1)[1].strip() for line in rules.splitlines() if "- alert:" in line]
    assert alerts
    assert [a for a in alerts if f"alertname: {a}" not in tests] == []


def test_the_dashboard_has_a_row_per_concern_and_every_panel_queries_a_metric():
    dashboard = json.loads((DOCS / "grafana" / "ficus.json").read_text())
    panels = dashboard["panels"]
    assert tuple(p["title"] for p in panels if p["type"] == "row") == ROWS
    graphs = [p for p in panels if p["type"] != "row"]
    assert graphs
    for panel in graphs:
        exprs = [target["expr"] for target in panel["targets"]]
        assert exprs, panel["title"]
        assert all(promql_metric_names(expr) for expr in exprs), panel["title"]
    assert len({p["id"] for p in panels}) == len(panels)
