"""From plans to the routing core: every plan route becomes a Route with its source."""

from __future__ import annotations

from pathlib import Path

from domain.phases import Phase, cohort_bucket
from domain.plans import load_plans
from domain.route_table import (
    RouteState,
    build_route_table,
    pin_windows,
    routes_from_plans,
    shadow_settings,
    upstream_health,
    upstream_instances,
)
from domain.routes import LEGACY_DEFAULT_ROUTE, Reason, RequestInfo, TrailingSlash
from domain.routing import decide
from tests.migration_plans.plan_files import appointments_plan

PLAN = appointments_plan("""\
  - method: GET
    path: /api/appointments/{id:int}
    phase: migrated
  - method: POST
    path: /api/appointments
    phase: legacy
""")


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


WARD_PLAN = """\
feature: charts
owner: Clinical IT
upstream:
  name: charts
  instances: [http://127.0.0.1:8103]
legacy_tables: [CHART]
cohort: {key: path, name: id}
data_owner: {key: path, name: id}
canary_writes: true
trailing_slash: match
allow_path_params: true
shadow: {sample_percent: 50, timeout_seconds: 1.5, max_in_flight: 8, include_writes: true}
routes:
  - method: GET
    path: /api/charts/{id:int}
    phase: shadow
  - method: PUT
    path: /api/charts/{id:int}
    phase: legacy
"""


def ward_plans(tmp_path: Path):
    (tmp_path / "charts.yaml").write_text(WARD_PLAN)
    return load_plans(tmp_path, environ={})


def test_a_control_plane_state_overrides_the_plan_files_phase_and_sets_the_weight(tmp_path):
    states = {("GET", "/api/appointments/{id:int}"): RouteState(Phase.CANARY, 40)}
    routes = {r.template: r for r in routes_from_plans(plans(tmp_path), states)}
    item = routes["/api/appointments/{id:int}"]
    assert (item.phase, item.weight) == (Phase.CANARY, 40)
    untouched = routes["/api/appointments"]
    assert (untouched.phase, untouched.weight) == (Phase.LEGACY, 0)


def test_a_weight_outside_canary_is_ignored_and_unknown_rows_are_dropped(tmp_path):
    states = {
        ("GET", "/api/appointments/{id:int}"): RouteState(Phase.MIGRATED, 40),
        ("GET", "/api/gone"): RouteState(Phase.MIGRATED),
    }
    routes = routes_from_plans(plans(tmp_path), states)
    assert [(r.template, r.phase, r.weight) for r in routes] == [
        ("/api/appointments/{id:int}", Phase.MIGRATED, 0),
        ("/api/appointments", Phase.LEGACY, 0),
    ]


def test_the_plans_cohort_write_slash_and_param_settings_reach_every_route(tmp_path):
    for route in routes_from_plans(ward_plans(tmp_path)):
        assert route.cohort == ("path", "id")
        assert route.canary_writes
        assert route.trailing_slash is TrailingSlash.MATCH
        assert route.allow_path_params
    default = routes_from_plans(plans(tmp_path))[0]
    assert default.cohort == ("session", "")
    assert (default.canary_writes, default.allow_path_params) == (False, False)
    assert default.trailing_slash is TrailingSlash.STRICT


def test_a_canary_write_with_the_data_owners_key_follows_its_record(tmp_path):
    states = {("PUT", "/api/charts/{id:int}"): RouteState(Phase.CANARY, 50)}
    table = build_route_table(ward_plans(tmp_path), states)
    for record in range(1, 200):
        decision = decide(RequestInfo("PUT", f"/api/charts/{record}/"), table)
        assert decision.to_legacy is not (cohort_bucket("charts", str(record)) < 5000)
        assert decision.forward_path == f"/api/charts/{record}"


def test_shadow_settings_are_per_feature(tmp_path):
    settings = shadow_settings(ward_plans(tmp_path))["charts"]
    assert (settings.sample_percent, settings.max_in_flight, settings.include_writes) == (
        50,
        8,
        True,
    )


def test_each_upstreams_health_settings_come_from_its_plan(tmp_path):
    (tmp_path / "appointments.yaml").write_text(PLAN)
    (tmp_path / "charts.yaml").write_text(
        WARD_PLAN.replace(
            "  instances: [http://127.0.0.1:8103]\n",
            "  instances: [http://127.0.0.1:8103]\n"
            "  health: {path: /ops/ready, interval_seconds: 5, timeout_seconds: 0.5,"
            " unhealthy_after: 3, healthy_after: 2}\n",
        )
    )
    health = upstream_health(load_plans(tmp_path, environ={}))
    charts = health["charts"]
    assert (charts.path, charts.interval_seconds, charts.timeout_seconds) == ("/ops/ready", 5, 0.5)
    assert (charts.unhealthy_after, charts.healthy_after) == (3, 2)
    assert health["appointments"].path == "/__ficus/health"  # the contract's default
