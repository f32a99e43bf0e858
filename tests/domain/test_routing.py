"""The routing core: templates, specificity, HEAD, phases, the legacy default, overlaps."""

from __future__ import annotations

import pytest

from domain.phases import Phase
from domain.route_templates import Param, ParamType, TemplateError, parse_template
from domain.routes import (
    LEGACY_DEFAULT_ROUTE,
    LEGACY_UPSTREAM,
    Decision,
    Reason,
    RequestInfo,
    Route,
)
from domain.routing import RouteTable, decide, fall_back, pinned_feature, should_fall_back


def route(template: str, *, method: str = "GET", feature: str = "appointments", **kw) -> Route:
    return Route(
        feature=feature,
        method=method,
        template=template,
        upstream=kw.get("upstream", feature),
        phase=kw.get("phase", Phase.MIGRATED),
        source=kw.get("source", ""),
    )


def decide_path(
    table: RouteTable, path: str, method: str = "GET", pinned: frozenset[str] = frozenset()
) -> Decision:
    return decide(RequestInfo(method=method, path=path, pinned_features=pinned), table)


def appointments_table(read_phase: Phase = Phase.MIGRATED) -> RouteTable:
    """The appointments feature as its plan declares it, plus another migrated feature."""
    return RouteTable.build(
        [
            route("/api/appointments", phase=Phase.LEGACY),
            route("/api/appointments", method="POST", phase=Phase.LEGACY),
            route("/api/appointments/{id:int}", phase=read_phase),
            route("/api/appointments/{id:int}", method="PUT", phase=Phase.LEGACY),
            route("/api/appointments/{id:int}/cancel", method="POST", phase=Phase.LEGACY),
            route("/api/patients/{id:int}", feature="patients"),
            route("/api/patients/{id:int}", method="PUT", feature="patients"),
        ]
    )


PINNED = frozenset({"appointments"})


def test_it_routes_a_migrated_route_to_its_service_with_typed_params():
    table = RouteTable.build([route("/api/appointments/{id:int}")])
    decision = decide_path(table, "/api/appointments/42")
    assert decision.feature == "appointments"
    assert decision.upstream == "appointments"
    assert decision.template == "/api/appointments/{id:int}"
    assert decision.params == (("id", 42),)


def test_unmatched_requests_go_to_the_legacy_default_route_which_is_a_route():
    table = RouteTable.build([route("/api/appointments/{id:int}")])
    decision = decide_path(table, "/api/patients/7")
    assert decision.route is LEGACY_DEFAULT_ROUTE
    assert decision.feature == "legacy"
    assert decision.upstream == LEGACY_UPSTREAM
    assert decision.to_legacy
    # The default is part of the inventory, after the declared routes.
    assert table.routes[-1] is LEGACY_DEFAULT_ROUTE
    assert len(table.routes) == 2


def test_an_empty_table_sends_everything_to_legacy():
    table = RouteTable.build([])
    assert decide_path(table, "/", "DELETE").route is LEGACY_DEFAULT_ROUTE
    assert table.routes == (LEGACY_DEFAULT_ROUTE,)


def test_a_method_without_routes_goes_to_legacy():
    table = RouteTable.build([route("/api/appointments/{id:int}")])
    assert decide_path(table, "/api/appointments/1", "PUT").to_legacy


def test_int_params_take_ascii_digits_only():
    table = RouteTable.build([route("/api/appointments/{id:int}")])
    assert decide_path(table, "/api/appointments/007").params == (("id", 7),)
    for not_an_int in ("x1", "-1", "1.5", "%D9%A3", "", "1234567890123456789"):
        assert decide_path(table, f"/api/appointments/{not_an_int}").to_legacy, not_an_int


def test_str_params_take_one_non_empty_segment_and_are_decoded():
    table = RouteTable.build([route("/files/{name}")])
    assert decide_path(table, "/files/a%20b").params == (("name", "a b"),)
    assert decide_path(table, "/files/").to_legacy
    assert decide_path(table, "/files/a/b").to_legacy


def test_a_literal_segment_beats_an_int_param_which_beats_a_str_param():
    table = RouteTable.build(
        [
            route("/api/appointments/{key:str}", feature="by_key"),
            route("/api/appointments/{id:int}", feature="by_id"),
            route("/api/appointments/today", feature="today"),
        ]
    )
    assert decide_path(table, "/api/appointments/today").feature == "today"
    assert decide_path(table, "/api/appointments/12").feature == "by_id"
    assert decide_path(table, "/api/appointments/abc").feature == "by_key"


def test_specificity_is_decided_from_the_left_and_backtracks_when_a_branch_dead_ends():
    table = RouteTable.build(
        [
            route("/a/{x:int}/c", feature="int_then_c"),
            route("/a/{x:str}/d", feature="str_then_d"),
            route("/a/b/{y}", feature="literal_first"),
        ]
    )
    assert decide_path(table, "/a/b/c").feature == "literal_first"
    assert decide_path(table, "/a/1/c").feature == "int_then_c"
    # The int branch has no /d, so the str branch serves it.
    assert decide_path(table, "/a/1/d").feature == "str_then_d"


def test_head_follows_get_unless_head_is_declared():
    table = RouteTable.build(
        [
            route("/api/appointments/{id:int}"),
            route("/api/patients/{id:int}", feature="patients"),
            route("/api/patients/{id:int}", method="HEAD", feature="patients_head"),
        ]
    )
    assert decide_path(table, "/api/appointments/3", "HEAD").feature == "appointments"
    assert decide_path(table, "/api/patients/3", "HEAD").feature == "patients_head"
    assert decide_path(table, "/api/patients/3", "GET").feature == "patients"


def test_a_get_only_table_does_not_route_post():
    table = RouteTable.build([route("/api/appointments")])
    assert decide_path(table, "/api/appointments", "POST").to_legacy


@pytest.mark.parametrize(
    ("phase", "upstream"),
    [
        (Phase.LEGACY, "legacy"),
        (Phase.SHADOW, "legacy"),
        (Phase.CANARY, "legacy"),  # cohorts arrive with the control plane
        (Phase.MIGRATED, "appointments"),
        (Phase.RETIRED, "appointments"),
    ],
)
def test_the_phase_decides_the_upstream_but_the_route_is_still_reported(phase, upstream):
    table = RouteTable.build([route("/api/appointments/{id:int}", phase=phase)])
    decision = decide_path(table, "/api/appointments/1")
    assert decision.upstream == upstream
    assert decision.feature == "appointments"
    assert decision.phase is phase


def test_an_ordinary_decision_says_the_route_chose_it():
    decision = decide_path(appointments_table(), "/api/appointments/7")
    assert (decision.upstream, decision.reason, decision.fallback_from) == (
        "appointments",
        Reason.ROUTE,
        None,
    )


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_a_pinned_feature_sends_its_reads_to_legacy_and_says_why(method):
    table = RouteTable.build(
        [route("/api/appointments/{id:int}", method=m) for m in ("GET", "OPTIONS")]
    )
    decision = decide_path(table, "/api/appointments/7", method, pinned=PINNED)
    assert decision.to_legacy
    assert decision.reason is Reason.PINNED
    # Still the feature's route and phase: the access log shows what was overridden.
    assert (decision.feature, decision.template, decision.phase) == (
        "appointments",
        "/api/appointments/{id:int}",
        Phase.MIGRATED,
    )
    assert decision.params == (("id", 7),)


def test_pins_leave_other_features_and_unpinned_sessions_alone():
    table = appointments_table()
    assert decide_path(table, "/api/patients/3", pinned=PINNED).upstream == "patients"
    assert decide_path(table, "/api/appointments/7").upstream == "appointments"
    other = decide_path(table, "/api/appointments/7", pinned=frozenset({"patients"}))
    assert (other.upstream, other.reason) == ("appointments", Reason.ROUTE)


def test_pins_never_move_a_write():
    table = RouteTable.build(
        [route("/api/appointments/{id:int}", method=m) for m in ("PUT", "POST", "DELETE")]
    )
    for method in ("PUT", "POST", "DELETE"):
        decision = decide_path(table, "/api/appointments/7", method, pinned=PINNED)
        assert (decision.upstream, decision.reason) == ("appointments", Reason.ROUTE), method


@pytest.mark.parametrize(
    ("phase", "upstream"),
    [
        (Phase.LEGACY, "legacy"),
        (Phase.SHADOW, "legacy"),
        (Phase.CANARY, "legacy"),
        (Phase.RETIRED, "appointments"),  # no legacy side left to read from
    ],
)
def test_pins_change_nothing_in_other_phases(phase, upstream):
    decision = decide_path(appointments_table(phase), "/api/appointments/7", pinned=PINNED)
    assert (decision.upstream, decision.reason) == (upstream, Reason.ROUTE)


def test_pins_leave_the_legacy_default_route_alone():
    decision = decide_path(appointments_table(), "/api/other", pinned=frozenset({"legacy"}))
    assert (decision.route, decision.reason) == (LEGACY_DEFAULT_ROUTE, Reason.ROUTE)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/appointments"),
        ("PUT", "/api/appointments/7"),
        ("POST", "/api/appointments/7/cancel"),
    ],
)
def test_a_write_legacy_serves_on_a_features_route_pins_that_feature(method, path):
    decision = decide_path(appointments_table(), path, method)
    assert decision.to_legacy
    assert pinned_feature(decision) == "appointments"


def test_reads_unmatched_writes_and_service_served_writes_pin_nothing():
    table = appointments_table()
    for method, path in [
        ("GET", "/api/appointments"),  # a read, even on a legacy route
        ("HEAD", "/api/appointments/7"),
        ("DELETE", "/api/appointments/7"),  # no such route: the legacy default's
        ("POST", "/login"),
        ("PUT", "/api/patients/3"),  # served by the patients service, which sees its own write
    ]:
        assert pinned_feature(decide_path(table, path, method)) is None, (method, path)


@pytest.mark.parametrize("status", [404, 500, 502, 503, 504])
@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_a_read_the_service_failed_falls_back_to_legacy(method, status):
    table = RouteTable.build(
        [route("/api/appointments/{id:int}", method=m) for m in ("GET", "OPTIONS")]
    )
    decision = decide_path(table, "/api/appointments/7", method)
    assert should_fall_back(decision, status)
    after = fall_back(decision)
    assert (after.upstream, after.reason, after.fallback_from) == (
        "legacy",
        Reason.FALLBACK,
        "appointments",
    )
    assert (after.route, after.params) == (decision.route, decision.params)
    assert not should_fall_back(after, status)  # at most once


@pytest.mark.parametrize("status", [200, 204, 301, 304, 400, 401, 403, 405, 409, 410])
def test_other_answers_are_the_services_to_give(status):
    decision = decide_path(appointments_table(), "/api/appointments/7")
    assert not should_fall_back(decision, status)


def test_writes_never_fall_back():
    table = RouteTable.build(
        [route("/api/appointments/{id:int}", method=m) for m in ("PUT", "POST", "DELETE", "PATCH")]
    )
    for method in ("PUT", "POST", "DELETE", "PATCH"):
        decision = decide_path(table, "/api/appointments/7", method)
        assert not decision.to_legacy
        assert not should_fall_back(decision, 503), method


def test_only_canary_and_migrated_reads_fall_back():
    retired = decide_path(appointments_table(Phase.RETIRED), "/api/appointments/7")
    assert not retired.to_legacy
    assert not should_fall_back(retired, 404)
    migrated = decide_path(appointments_table(), "/api/appointments/7")
    assert should_fall_back(migrated, 404)
    # Canary cohorts arrive with the control plane; a canary route read by its service then
    # falls back like a migrated one.
    canary = Decision(route=route("/x", phase=Phase.CANARY), upstream="appointments", is_read=True)
    assert should_fall_back(canary, 503)


def test_what_legacy_or_a_pin_served_does_not_fall_back():
    table = appointments_table()
    assert not should_fall_back(decide_path(table, "/api/appointments"), 404)
    pinned = decide_path(table, "/api/appointments/7", pinned=PINNED)
    assert not should_fall_back(pinned, 404)


def test_same_shape_templates_overlap_and_the_error_names_both():
    first = route("/api/appointments/{id:int}", source="plans/a.yaml:9")
    second = route("/api/appointments/{n:int}", feature="billing", source="plans/b.yaml:4")
    with pytest.raises(ValueError, match="overlaps") as info:
        RouteTable.build([first, second])
    message = str(info.value)
    assert "plans/a.yaml:9" in message
    assert "plans/b.yaml:4" in message
    assert "billing" in message


def test_different_methods_or_types_do_not_overlap():
    RouteTable.build(
        [
            route("/api/appointments/{id:int}"),
            route("/api/appointments/{id:int}", method="PUT"),
            route("/api/appointments/{id:str}"),
        ]
    )


def test_the_trailing_slash_is_part_of_the_template():
    table = RouteTable.build([route("/static/"), route("/", feature="home")])
    assert decide_path(table, "/static/").feature == "appointments"
    assert decide_path(table, "/static").to_legacy
    assert decide_path(table, "/").feature == "home"


def test_parse_template_keeps_segments_and_types():
    template = parse_template("/api/{kind}/{id:int}")
    assert template.segments == ("api", Param("kind", ParamType.STR), Param("id", ParamType.INT))
    assert template.key == ("api", ParamType.STR, ParamType.INT)


@pytest.mark.parametrize(
    ("template", "complaint"),
    [
        ("api/x", "must start with '/'"),
        ("/api//x", "empty segment"),
        ("/api/{id:integer}", "unknown parameter type 'integer' (use int or str)"),
        ("/api/{id}.json", "mixes a parameter with text"),
        ("/api/{}", "needs a parameter name"),
        ("/api/{id}/{id:int}", "twice"),
        ("/api/../x", "dot segment"),
        ("/api/a%2Fb", "characters a template literal may not use"),
        ("/api/a;b", "characters a template literal may not use"),
    ],
)
def test_bad_templates_are_refused_with_the_reason(template, complaint):
    with pytest.raises(TemplateError) as info:
        parse_template(template)
    assert complaint in str(info.value)


def test_building_a_table_refuses_bad_methods_and_templates():
    with pytest.raises(ValueError, match="not an HTTP method"):
        RouteTable.build([route("/x", method="get")])
    with pytest.raises(ValueError, match="not an HTTP method"):
        RouteTable.build([route("/x", method="*")])
    with pytest.raises(TemplateError, match="unknown parameter type"):
        RouteTable.build([route("/x/{id:uuid}")])


def test_decisions_are_immutable():
    decision = decide_path(RouteTable.build([]), "/")
    with pytest.raises(AttributeError):
        decision.upstream = "appointments"  # type: ignore[misc]


def test_it_stays_correct_with_ten_thousand_routes():
    routes = [route(f"/api/svc{n}/items/{{id:int}}", feature=f"f{n}") for n in range(5000)]
    routes += [route(f"/api/svc{n}/items/{{key}}/history", feature=f"h{n}") for n in range(5000)]
    table = RouteTable.build(routes)
    assert decide_path(table, "/api/svc4321/items/9").feature == "f4321"
    assert decide_path(table, "/api/svc17/items/abc/history").feature == "h17"
    assert decide_path(table, "/api/svc17/items/abc").to_legacy
