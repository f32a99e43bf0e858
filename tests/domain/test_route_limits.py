"""Per-route read timeouts: the operator's file, matched like plan routes, errors located."""

from __future__ import annotations

import re

import pytest

from domain.route_limits import RouteLimits, read_route_limits

LIMITS = """\
routes:
  - route: POST /{db}/bus
    read_timeout_seconds: 300
  - route: GET /{db}/report/{id:int}
    read_timeout_seconds: 90.5
"""


def test_it_gives_a_legacy_long_poll_its_own_read_timeout() -> None:
    limits = read_route_limits(LIMITS, "limits.yaml")
    assert limits.read_timeout("POST", "/hospital/bus") == 300
    assert limits.read_timeout("GET", "/hospital/report/7") == 90.5
    assert limits.read_timeout("HEAD", "/hospital/report/7") == 90.5  # HEAD follows GET


def test_a_route_no_entry_matches_keeps_the_global_timeout() -> None:
    limits = read_route_limits(LIMITS, "limits.yaml")
    assert limits.read_timeout("GET", "/hospital/bus") is None
    assert limits.read_timeout("POST", "/hospital/bus/more") is None
    assert limits.read_timeout("GET", "/hospital/report/x") is None
    assert not RouteLimits()
    assert RouteLimits().read_timeout("POST", "/hospital/bus") is None


@pytest.mark.parametrize(
    ("text", "located"),
    [
        ("routes:\n  - route: POST /{db}/bus\n", "limits.yaml:2: routes[0].read_timeout_seconds"),
        (
            "routes:\n  - route: post /x\n    read_timeout_seconds: 5\n",
            "limits.yaml:2: routes[0].route: 'post /x' is not 'METHOD /template'",
        ),
        (
            "routes:\n  - route: POST /a//b\n    read_timeout_seconds: 5\n",
            "limits.yaml:2: routes[0].route:",
        ),
        (
            "routes:\n  - route: POST /x\n    read_timeout_seconds: 0\n",
            "limits.yaml:3: routes[0].read_timeout_seconds: '0' is out of range",
        ),
        (
            "routes:\n  - route: POST /x\n    read_timeout_seconds: 5\n    max_body: 1\n",
            "limits.yaml:4: routes[0].max_body: unknown field",
        ),
        ("rutes: []\n", "limits.yaml:1: rutes: unknown field"),
    ],
)
def test_an_operators_mistake_is_refused_with_file_line_and_field(text, located) -> None:
    with pytest.raises(ValueError, match=re.escape(located)):
        read_route_limits(text, "limits.yaml")


def test_two_entries_for_the_same_requests_are_refused() -> None:
    text = LIMITS + "  - route: POST /{name}/bus\n    read_timeout_seconds: 5\n"
    with pytest.raises(ValueError, match="overlaps"):
        read_route_limits(text, "limits.yaml")
