"""HEAD follows GET, OPTIONS follows its route, and the trailing-slash policy is explicit."""

from __future__ import annotations

from domain.phases import Phase
from domain.routes import LEGACY_DEFAULT_ROUTE, LEGACY_UPSTREAM, RequestInfo, Route, TrailingSlash
from domain.routing import RouteTable, decide


def route(method, template, phase=Phase.MIGRATED, **extra) -> Route:
    return Route("charts", method, template, "charts", phase, **extra)


def test_options_follows_the_get_route_of_its_path_to_the_service():
    table = RouteTable.build(
        [route("GET", "/api/charts/{id:int}"), route("PUT", "/api/charts/{id:int}", Phase.LEGACY)]
    )
    decision = decide(RequestInfo("OPTIONS", "/api/charts/7"), table)
    assert (decision.template, decision.upstream) == ("/api/charts/{id:int}", "charts")
    assert decision.route.method == "GET"


def test_options_follows_a_write_route_where_its_writes_go():
    table = RouteTable.build([route("POST", "/api/charts", Phase.LEGACY)])
    decision = decide(RequestInfo("OPTIONS", "/api/charts"), table)
    assert (decision.route.method, decision.upstream) == ("POST", LEGACY_UPSTREAM)
    migrated = RouteTable.build([route("POST", "/api/charts")])
    assert decide(RequestInfo("OPTIONS", "/api/charts"), migrated).upstream == "charts"


def test_a_declared_options_route_wins_over_the_one_it_would_follow():
    table = RouteTable.build(
        [route("GET", "/api/charts"), route("OPTIONS", "/api/charts", Phase.LEGACY)]
    )
    decision = decide(RequestInfo("OPTIONS", "/api/charts"), table)
    assert (decision.route.method, decision.upstream) == ("OPTIONS", LEGACY_UPSTREAM)


def test_options_on_a_path_no_route_has_goes_to_legacy():
    table = RouteTable.build([route("GET", "/api/charts")])
    assert decide(RequestInfo("OPTIONS", "/api/other"), table).route is LEGACY_DEFAULT_ROUTE


def test_head_follows_get_and_a_canary_treats_it_as_a_read():
    table = RouteTable.build([route("GET", "/api/charts/{id:int}", Phase.CANARY, weight=100)])
    assert decide(RequestInfo("HEAD", "/api/charts/3"), table).upstream == "charts"


def test_strict_trailing_slash_is_another_path_that_falls_through_to_legacy():
    table = RouteTable.build([route("GET", "/api/charts")])
    assert decide(RequestInfo("GET", "/api/charts"), table).upstream == "charts"
    slashed = decide(RequestInfo("GET", "/api/charts/"), table)
    assert slashed.route is LEGACY_DEFAULT_ROUTE
    assert slashed.forward_path is None


def test_match_trailing_slash_takes_the_route_and_forwards_without_the_slash():
    table = RouteTable.build(
        [route("GET", "/api/charts/{id:int}", trailing_slash=TrailingSlash.MATCH)]
    )
    decision = decide(RequestInfo("GET", "/api/charts/12/"), table)
    assert (decision.template, decision.upstream) == ("/api/charts/{id:int}", "charts")
    assert decision.forward_path == "/api/charts/12"
    assert decision.params == (("id", 12),)
    exact = decide(RequestInfo("GET", "/api/charts/12"), table)
    assert exact.forward_path is None


def test_a_template_with_its_own_trailing_slash_wins_over_the_match_policy():
    table = RouteTable.build(
        [
            route("GET", "/api/charts", trailing_slash=TrailingSlash.MATCH),
            route("GET", "/api/charts/", Phase.LEGACY),
        ]
    )
    decision = decide(RequestInfo("GET", "/api/charts/"), table)
    assert (decision.template, decision.forward_path) == ("/api/charts/", None)


def test_the_root_path_is_never_stripped():
    table = RouteTable.build([route("GET", "/", trailing_slash=TrailingSlash.MATCH)])
    decision = decide(RequestInfo("GET", "/"), table)
    assert (decision.template, decision.forward_path) == ("/", None)


def test_the_decision_carries_the_route_so_the_guard_can_read_its_path_param_allowance():
    table = RouteTable.build(
        [route("GET", "/api/charts"), route("GET", "/api/notes", allow_path_params=True)]
    )
    assert not decide(RequestInfo("GET", "/api/charts"), table).route.allow_path_params
    assert decide(RequestInfo("GET", "/api/notes"), table).route.allow_path_params
