"""One path's RPC routes: exact names first, then the longest matching `prefix.*` pattern."""

from __future__ import annotations

import pytest

from domain.routes import RpcMatch
from domain.rpc_index import RpcIndex


def index(*patterns: str) -> RpcIndex[str]:
    built: RpcIndex[str] = RpcIndex()
    for pattern in patterns:
        built.add(RpcMatch("jsonrpc", pattern), f"route {pattern}", pattern)
    return built


def test_an_exact_name_beats_every_pattern_and_a_longer_pattern_a_shorter_one():
    found = index("*", "model.*", "model.party.*", "model.party.party.read")
    assert found.find("jsonrpc", "model.party.party.read") == "model.party.party.read"
    assert found.find("jsonrpc", "model.party.address.read") == "model.party.*"
    assert found.find("jsonrpc", "model.sale.read") == "model.*"
    assert found.find("jsonrpc", "common.db.list") == "*"
    assert found.find("xmlrpc", "model.party.party.read") is None  # another protocol


def test_the_same_pattern_twice_or_a_star_inside_a_name_is_refused():
    with pytest.raises(ValueError, match="route a overlaps route a"):
        index("a", "a")
    with pytest.raises(ValueError, match="'\\*' may only end"):
        index("model.*.read")
