"""`routes[].rpc`: a plan moves one RPC method of an endpoint and says whether it reads."""

from __future__ import annotations

import pytest

from domain.ownership import feature_ownership
from domain.phases import Phase
from domain.route_table import RouteState, build_route_table
from domain.routes import RequestInfo, RpcClass, RpcMatch
from domain.routing import decide
from tests.migration_plans.plan_files import (
    appointments_plan,
    assert_located,
    errors_for,
    load_one,
    refused,
    write,
)

TWO_METHODS = appointments_plan(
    "  - method: POST\n"
    "    path: /{db}/\n"
    "    phase: migrated\n"
    "    rpc: {protocol: jsonrpc, method: model.party.party.search_read, class: read}\n"
    "  - method: POST\n"
    "    path: /{db}/\n"
    "    rpc: {protocol: jsonrpc, method: 'model.party.party.*', class: write}\n"
)


def test_each_route_carries_its_rpc_method_and_class(tmp_path):
    plan = load_one(tmp_path, TWO_METHODS)
    read, write_all = plan.routes
    assert read.rpc == RpcMatch("jsonrpc", "model.party.party.search_read", RpcClass.READ)
    assert write_all.rpc == RpcMatch("jsonrpc", "model.party.party.*", RpcClass.WRITE)
    assert read.template == "/{db}/ jsonrpc:model.party.party.search_read"


def test_route_states_are_kept_per_rpc_method(tmp_path):
    plan = load_one(tmp_path, TWO_METHODS)
    states = {
        ("POST", "/{db}/ jsonrpc:model.party.party.*"): RouteState(Phase.MIGRATED),
        ("POST", "/{db}/ jsonrpc:model.party.party.search_read"): RouteState(Phase.LEGACY),
    }
    table = build_route_table([plan], states)

    def upstream(method: str) -> str:
        request = RequestInfo("POST", "/tryton/", rpc=lambda: ("jsonrpc", method))
        return decide(request, table).upstream

    assert upstream("model.party.party.write") == "appointments"  # from its state row
    assert upstream("model.party.party.search_read") == "legacy"  # its own row


def test_a_route_without_rpc_is_matched_as_before(tmp_path):
    plan = load_one(tmp_path, appointments_plan("  - method: POST\n    path: /{db}/\n"))
    assert plan.routes[0].rpc is None
    assert plan.routes[0].template == "/{db}/"


@pytest.mark.parametrize(
    ("rpc", "field", "text"),
    [
        ("{protocol: corba, method: a, class: read}", "routes[0].rpc.protocol", "'corba' is not"),
        ("{protocol: jsonrpc, method: 'a b', class: read}", "routes[0].rpc.method", "no spaces"),
        ("{protocol: jsonrpc, method: 'a.*.b', class: read}", "routes[0].rpc.method", "'*' only"),
        ("{protocol: jsonrpc, method: a, class: maybe}", "routes[0].rpc.class", "'maybe' is not"),
        ("{protocol: jsonrpc, method: a}", "routes[0].rpc.class", "is required"),
        ("{protocol: jsonrpc, method: a, class: read, x: 1}", "routes[0].rpc.x", "unknown field"),
    ],
)
def test_a_bad_rpc_match_is_refused_where_it_stands(tmp_path, rpc, field, text):
    path, error = refused(
        tmp_path, appointments_plan(f"  - method: POST\n    path: /{{db}}/\n    rpc: {rpc}\n")
    )
    assert_located(error, path, 10, field, text)


def test_an_rpc_route_must_be_a_post(tmp_path):
    text = appointments_plan(
        "  - method: GET\n    path: /{db}/\n    rpc: {protocol: soap, method: a, class: read}\n"
    )
    path, error = refused(tmp_path, text)
    assert_located(error, path, 10, "routes[0].rpc", "an RPC call is a POST body")


def test_two_plans_moving_the_same_rpc_method_overlap_and_other_methods_do_not(tmp_path):
    write(tmp_path, "appointments.yaml", TWO_METHODS)
    other = TWO_METHODS.replace("appointments", "parties").replace("APPT_SCHED", "PARTY")
    write(tmp_path, "parties.yaml", other.replace("'model.party.party.*'", "'model.sale.*'"))
    (error,) = errors_for(tmp_path)
    assert "POST /{db}/ jsonrpc:model.party.party.search_read overlaps" in error.message


def test_a_migrated_read_rpc_method_gives_the_service_no_records_writes(tmp_path):
    plan = load_one(tmp_path, TWO_METHODS)  # search_read migrated, the party writes legacy
    ownership = feature_ownership(plan)
    assert [r.template for r in ownership.routes] == ["/{db}/ jsonrpc:model.party.party.*"]
    assert not ownership.service_owns(7)
