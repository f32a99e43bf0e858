"""A real Prometheus (Debian's) scrapes the real stack: the proxy, the services, the control
plane and the sync worker, each page passes promtool, and the shipped dashboard and alert rules
ask only for metrics the stack really exports."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from demo.launcher import Stack
from tests.e2e.clients import logged_in
from tests.e2e.test_walking_skeleton import MIGRATED_TEMPLATE, _booked_appointment
from tests.support.prometheus import check_metrics, exported_names, promql_metric_names, scrape

DOCS = Path(__file__).resolve().parents[2] / "docs"


def query(stack: Stack, promql: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{stack.config.prometheus_url}/api/v1/query", params={"query": promql}, timeout=10
    )
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def eventually(condition, within: float = 60.0):
    deadline = time.monotonic() + within
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        time.sleep(0.5)


def pages(stack: Stack) -> dict[str, str]:
    return {
        target.job: scrape(f"http://{target.address}{target.path}")
        for target in stack.scrape_targets()
    }


def test_prometheus_scrapes_every_part_of_the_stack(stack: Stack) -> None:
    jobs = {target.job for target in stack.scrape_targets()}
    assert {"proxy", "sync", "control", "appointments", "patients"} <= jobs

    def all_up() -> bool:
        up = query(stack, "up")
        return {r["metric"]["job"] for r in up if r["value"][1] == "1"} == jobs

    eventually(all_up)


def test_prometheus_sees_proxy_requests_by_route_template(stack: Stack) -> None:
    appointment, _ = _booked_appointment(stack)
    with logged_in(stack.config.proxy_url, "clinician") as clinician:
        assert clinician.get(f"/api/appointments/{appointment}").status_code == 200

    # Other tests of the package may have added series of their own (a pinned read, say).
    selector = f'ficus_proxy_requests_total{{template="{MIGRATED_TEMPLATE}",side="service"}}'
    (series, *_) = eventually(lambda: query(stack, selector))
    labels = series["metric"]
    assert labels["feature"] == "appointments"
    assert labels["upstream"] == "appointments"
    assert labels["status_class"] == "2xx"
    assert labels["method"] == "GET"
    # Route templates only: no series anywhere carries the appointment's id.
    everything = query(stack, '{__name__=~"ficus_.+"}')
    assert not any(str(appointment) in json.dumps(r["metric"]) for r in everything)


def test_every_metrics_page_of_the_stack_passes_promtool(stack: Stack) -> None:
    for job, page in pages(stack).items():
        assert check_metrics(page) == "", job


def test_the_dashboard_and_the_alerts_ask_only_for_exported_metrics(stack: Stack) -> None:
    exported = set().union(*(exported_names(page) for page in pages(stack).values()))

    dashboard = json.loads((DOCS / "grafana" / "ficus.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    rules = yaml.safe_load((DOCS / "prometheus" / "alerts.yml").read_text())
    exprs += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert len(exprs) > 20
    asked = set().union(*(promql_metric_names(expr) for expr in exprs))
    assert asked, exprs
    assert asked - exported == set()
