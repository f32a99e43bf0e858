"""From plans to the routing core: every plan route becomes a Route with its source."""

from __future__ import annotations

from pathlib import Path

from migration_plans.plans import load_plans
from migration_plans.route_table import (
    build_route_table,
    pin_windows,
    routes_from_plans,
    upstream_instances,
)
from proxy.routing import LEGACY_DEFAULT_ROUTE, Phase, Reason, RequestInfo, decide

PLAN = """\
feature: appointments
owner: Scheduling IT
upstream:
  name: appointments
  instances: [http://127.0.0.1:8101]
legacy_tables: [APPT_SCHED]
routes:
  - method: GET
    path: /api/appointments/{id:int}
    phase: migrated
  - method: POST
    path: /api/appointments
    phase: legacy
"""


def plans(tmp_path: Path, environ: dict[str, str] | None = None):
    (tmp_path / "appointments.yaml").write_text(PLAN)
    return load_plans(tmp_path, environ=environ or {})


def test_each_plan_route_becomes_a_route_that_knows_where_it_was_declared(tmp_path):
    routes = routes_from_plans(plans(tmp_path))
    assert [(r.method, r.template, r.phase) for r in routes] == [
        ("GET", "/api/appointments/{id:int}", Phase.MIGRATED),
        ("POST", "/api/appointments", Phase.LEGACY),
    ]
    assert all(r.feature == "appointments" and r.upstream == "appointments" for r in routes)
    assert routes[0].source.endswith("appointments.yaml:8")


def test_the_table_routes_by_phase_and_keeps_the_legacy_default(tmp_path):
    table = build_route_table(plans(tmp_path))
    assert decide(RequestInfo("GET", "/api/appointments/5"), table).upstream == "appointments"
    legacy_phase = decide(RequestInfo("POST", "/api/appointments"), table)
    assert (legacy_phase.feature, legacy_phase.upstream) == ("appointments", "legacy")
    assert table.routes[-1] is LEGACY_DEFAULT_ROUTE


def test_upstream_instances_follow_the_environment(tmp_path):
    found = upstream_instances(
        plans(tmp_path, {"FICUS_UPSTREAM_APPOINTMENTS": "http://127.0.0.1:18101"})
    )
    assert found == {"appointments": ("http://127.0.0.1:18101",)}


def test_pin_windows_are_per_feature(tmp_path):
    assert pin_windows(plans(tmp_path)) == {"appointments": 5}
    (tmp_path / "appointments.yaml").write_text(PLAN + "pin_reads_after_write_seconds: 0\n")
    assert pin_windows(load_plans(tmp_path, environ={})) == {"appointments": 0}


def test_the_shipped_plan_builds_a_table_where_head_follows_get():
    directory = Path(__file__).resolve().parents[2] / "migration_plans" / "plans"
    table = build_route_table(load_plans(directory, environ={}))
    for method, path, template, upstream in [
        ("GET", "/api/appointments", "/api/appointments", "legacy"),
        ("HEAD", "/api/appointments", "/api/appointments", "legacy"),
        ("POST", "/api/appointments", "/api/appointments", "legacy"),
        ("GET", "/api/appointments/7", "/api/appointments/{id:int}", "appointments"),
        ("HEAD", "/api/appointments/7", "/api/appointments/{id:int}", "appointments"),
        ("PUT", "/api/appointments/7", "/api/appointments/{id:int}", "legacy"),
        ("POST", "/api/appointments/7/cancel", "/api/appointments/{id:int}/cancel", "legacy"),
        ("DELETE", "/api/appointments/7", "/**", "legacy"),
    ]:
        decision = decide(RequestInfo(method, path), table)
        assert (decision.template, decision.upstream) == (template, upstream), (method, path)
        assert decision.reason is Reason.ROUTE
    pinned = decide(RequestInfo("GET", "/api/appointments/7", frozenset({"appointments"})), table)
    assert (pinned.upstream, pinned.reason) == ("legacy", Reason.PINNED)
