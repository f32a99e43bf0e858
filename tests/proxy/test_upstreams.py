"""Upstream pools: instance URLs parsed once, instances taken in turn."""

from __future__ import annotations

import pytest

from proxy.upstreams import Instance, UpstreamPool, build_pools


def test_an_instance_parses_scheme_host_and_port():
    assert Instance.parse("http://127.0.0.1:8101") == Instance("http", "127.0.0.1", 8101)
    assert Instance.parse("https://svc.internal") == Instance("https", "svc.internal", 443)
    assert Instance.parse("http://[::1]:80").host == "::1"


def test_the_authority_omits_default_ports_and_brackets_ipv6():
    assert Instance("http", "127.0.0.1", 8101).authority == "127.0.0.1:8101"
    assert Instance("http", "svc", 80).authority == "svc"
    assert Instance("https", "svc", 443).authority == "svc"
    assert Instance("http", "::1", 8101).authority == "[::1]:8101"


def test_a_pool_takes_its_instances_in_turn():
    pool = build_pools({"appointments": ["http://127.0.0.1:1", "http://127.0.0.1:2"]})[
        "appointments"
    ]
    assert [pool.pick().port for _ in range(5)] == [1, 2, 1, 2, 1]


def test_bad_urls_and_empty_pools_are_refused():
    with pytest.raises(ValueError, match="not an http"):
        Instance.parse("ftp://host")
    with pytest.raises(ValueError, match="no instances"):
        UpstreamPool("appointments", [])
