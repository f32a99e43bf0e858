"""RPC routes in the control plane: each RPC method of one endpoint has its own state row,
keyed by its template with the method name, and moves on its own."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.routes import RpcClass, RpcMatch
from migration_plans import services
from migration_plans.models import RouteState
from tests.migration_plans.control import make_plan

pytestmark = pytest.mark.django_db(databases=["default"])
SEARCH = "/{db}/ jsonrpc:model.party.party.search_read"


def rpc_plan():
    plan = make_plan(feature="parties", routes=(("POST", "/{db}/", "legacy"),) * 2)
    first, second = plan.routes
    return replace(
        plan,
        routes=(
            replace(first, rpc=RpcMatch("jsonrpc", "model.party.party.search_read", RpcClass.READ)),
            replace(second, rpc=RpcMatch("jsonrpc", "model.party.party.*", RpcClass.WRITE)),
        ),
    )


def test_each_rpc_method_gets_its_own_state_row_and_moves_alone():
    plan = rpc_plan()
    assert services.register_routes(plans=[plan]) == 2
    assert set(RouteState.objects.values_list("template", flat=True)) == {
        SEARCH,
        "/{db}/ jsonrpc:model.party.party.*",
    }
    services.advance(
        plans=[plan],
        feature="parties",
        reason="search_read diffs clean",
        actor="operator-olga",
        route=f"POST {SEARCH}",
        providers=[],
    )
    phases = dict(RouteState.objects.values_list("template", "phase"))
    assert phases == {SEARCH: "shadow", "/{db}/ jsonrpc:model.party.party.*": "legacy"}


def test_a_read_rpc_route_takes_the_canary_step_and_a_write_rpc_route_skips_it():
    plan = rpc_plan()
    services.register_routes(plans=[plan])
    for reason, weight in (("shadow clean", None), ("diffs clean", 10)):
        services.advance(
            plans=[plan],
            feature="parties",
            reason=reason,
            actor="operator-olga",
            weight=weight,
            providers=[],
        )
    phases = dict(RouteState.objects.values_list("template", "phase"))
    # Without canary_writes a write waits in shadow while the feature's reads are in canary.
    assert phases == {SEARCH: "canary", "/{db}/ jsonrpc:model.party.party.*": "shadow"}
