"""RPC-aware routing: one path, many RPC methods, each with its own route and read/write class,
and every read/write rule (canary writes, fallback, pins) following that class."""

from __future__ import annotations

import pytest

from domain.phases import Phase
from domain.routes import LEGACY_UPSTREAM, Reason, RequestInfo, Route, RpcClass, RpcMatch
from domain.routing import RouteTable, decide, pinned_feature, should_fall_back

READ = RpcMatch("jsonrpc", "model.party.party.search_read", RpcClass.READ)
WRITE = RpcMatch("jsonrpc", "model.party.party.write", RpcClass.WRITE)


def rpc_route(rpc: RpcMatch | None, phase: Phase = Phase.MIGRATED, **extra) -> Route:
    return Route("parties", "POST", "/{db}/", "parties", phase, rpc=rpc, **extra)


def calling(method: str | None, protocol: str = "jsonrpc", calls: list[str | None] | None = None):
    def lookup():
        if calls is not None:
            calls.append(method)
        return None if method is None else (protocol, method)

    return lookup


def everyone(kind: str, name: str) -> str | None:
    return "session-clinician"


def ask(
    table: RouteTable, method: str | None, protocol="jsonrpc", *, pinned=frozenset(), http="POST"
):
    return decide(RequestInfo(http, "/tryton/", pinned, everyone, calling(method, protocol)), table)


def test_a_read_rpc_method_goes_to_its_service_and_other_calls_where_the_path_goes():
    table = RouteTable.build([rpc_route(READ)])
    read = ask(table, READ.method)
    assert (read.upstream, read.is_read, read.params) == ("parties", True, (("db", "tryton"),))
    assert read.template == "/{db}/ jsonrpc:model.party.party.search_read"
    for other in (WRITE.method, None):
        decision = ask(table, other)
        assert decision.to_legacy
        assert not decision.is_read  # a POST is a write
        assert decision.route is table.default
    assert ask(table, READ.method, http="PUT").to_legacy  # only POST routes match calls


def test_an_rpc_route_beats_the_paths_own_route():
    plain = Route("tryton", "POST", "/{db}/", "tryton_svc", Phase.MIGRATED)
    table = RouteTable.build([plain, rpc_route(READ, Phase.LEGACY)])
    assert ask(table, READ.method).route.rpc == READ
    assert ask(table, "model.sale.sale.write").route is plain
    assert ask(table, "common.db.list", "xmlrpc").route is plain  # another protocol


def test_a_longer_method_pattern_wins_and_an_exact_name_beats_both():
    general = rpc_route(RpcMatch("jsonrpc", "model.*", RpcClass.WRITE))
    party = rpc_route(RpcMatch("jsonrpc", "model.party.party.*", RpcClass.READ))
    table = RouteTable.build([general, party, rpc_route(WRITE)])
    assert ask(table, "model.party.party.read").route is party
    assert ask(table, "model.sale.sale.read").route is general
    assert ask(table, WRITE.method).route.rpc == WRITE
    assert ask(table, "common.db.list").to_legacy


def test_two_routes_for_the_same_call_are_refused():
    with pytest.raises(ValueError, match="both match exactly the same calls"):
        RouteTable.build([rpc_route(READ), rpc_route(READ, source="other.yaml")])
    with pytest.raises(ValueError, match="'\\*' may only end"):
        RouteTable.build([rpc_route(RpcMatch("jsonrpc", "model.*.read"))])


def test_the_body_is_read_only_on_paths_that_have_rpc_routes():
    table = RouteTable.build([rpc_route(READ), Route("x", "POST", "/api/x", "x", Phase.MIGRATED)])
    calls: list[str | None] = []
    decide(RequestInfo("POST", "/api/x", rpc=calling(READ.method, calls=calls)), table)
    decide(RequestInfo("POST", "/no/route", rpc=calling(READ.method, calls=calls)), table)
    assert calls == []
    decide(RequestInfo("POST", "/tryton/", rpc=calling(READ.method, calls=calls)), table)
    assert calls == [READ.method]


def test_in_canary_a_read_rpc_goes_to_the_service_for_a_canary_cohort():
    table = RouteTable.build([rpc_route(READ, Phase.CANARY, weight=100)])
    decision = ask(table, READ.method)
    assert (decision.upstream, decision.reason) == ("parties", Reason.COHORT)


def test_in_canary_a_write_rpc_stays_on_legacy_unless_writes_join_the_canary():
    alone = RouteTable.build([rpc_route(WRITE, Phase.CANARY, weight=100)])
    assert ask(alone, WRITE.method).upstream == LEGACY_UPSTREAM
    joined = RouteTable.build([rpc_route(WRITE, Phase.CANARY, weight=100, canary_writes=True)])
    assert ask(joined, WRITE.method).upstream == "parties"


def test_only_a_read_rpc_falls_back_to_legacy():
    table = RouteTable.build([rpc_route(READ), rpc_route(WRITE)])
    assert should_fall_back(ask(table, READ.method), 503)
    assert not should_fall_back(ask(table, WRITE.method), 503)


def test_pins_follow_write_rpcs_and_hold_read_rpcs_on_legacy():
    table = RouteTable.build([rpc_route(READ, Phase.LEGACY), rpc_route(WRITE, Phase.LEGACY)])
    assert pinned_feature(ask(table, WRITE.method)) == "parties"  # a write legacy served
    assert pinned_feature(ask(table, READ.method)) is None  # a read pins nothing
    migrated = RouteTable.build([rpc_route(READ), rpc_route(WRITE)])
    pinned = ask(migrated, READ.method, pinned=frozenset({"parties"}))
    assert (pinned.upstream, pinned.reason) == (LEGACY_UPSTREAM, Reason.PINNED)
    write = ask(migrated, WRITE.method, pinned=frozenset({"parties"}))
    assert write.upstream == "parties"  # a write is never moved
