"""The live table: plans, route states and the control plane's address compile together."""

from __future__ import annotations

import pytest

from domain.faces import CONTROL_UPSTREAM
from domain.routes import Reason, RequestInfo
from domain.routing import decide
from proxy.live_plans import LivePlans
from tests.proxy.processes import SHIPPED_PLANS


def test_the_operator_reaches_the_control_plane_once_the_proxy_knows_its_address():
    plans = LivePlans()
    plans.load(SHIPPED_PLANS)
    request = RequestInfo("GET", "/control/v1/routes")
    assert decide(request, plans.table).upstream == "legacy"  # no address: nothing to route to
    plans.set_control(("http://127.0.0.1:8100",))
    decision = decide(request, plans.table)
    assert (decision.upstream, decision.reason) == (CONTROL_UPSTREAM, Reason.FACE)
    assert plans.pools[CONTROL_UPSTREAM].name == CONTROL_UPSTREAM
    # A plan reload keeps the control face, and the plans' faces are there too.
    plans.load(SHIPPED_PLANS)
    assert decide(RequestInfo("POST", "/oauth2/token"), plans.table).upstream == CONTROL_UPSTREAM
    assert decide(RequestInfo("GET", "/fhir/Patient/7"), plans.table).upstream == "patients"


def test_a_bad_control_address_is_refused_and_the_old_table_kept():
    plans = LivePlans()
    plans.load(SHIPPED_PLANS)
    before = plans.table
    with pytest.raises(ValueError, match="is not an http"):
        plans.set_control(("ftp://nowhere",))
    assert plans.table is before
