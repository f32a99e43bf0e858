"""The one ownership rule: who owns each record's writes, per key, from phases, weight and the
cohort hash; the proxy routes every write of a record to the owner this rule names."""

from __future__ import annotations

import pytest

from domain.ownership import (
    SETTLE_SECONDS,
    FeatureOwnership,
    Owner,
    RouteOwnership,
    deciding_routes,
    feature_ownership,
    takes_records_from_service,
)
from domain.phases import Phase
from domain.plan_model import NonOwnerWrites
from domain.plans import load_plans
from domain.route_table import RouteState, build_route_table
from domain.routes import LEGACY_UPSTREAM, RequestInfo
from domain.routing import decide
from tests.migration_plans.plan_files import SHIPPED, load_one, write

KEYS = range(1, 2001)
CANCEL = ("POST", "/api/appointments/{id:int}/cancel")
PUT = ("PUT", "/api/appointments/{id:int}")
BOOK = ("POST", "/api/appointments")
ONE = ("GET", "/api/appointments/{id:int}")


@pytest.fixture(scope="module")
def appointments(tmp_path_factory):
    text = (SHIPPED / "appointments.yaml").read_text()
    return load_one(tmp_path_factory.mktemp("plan"), text)


def load_plans_from(directory, feature: str):
    write(directory, f"{feature}.yaml", (SHIPPED / f"{feature}.yaml").read_text())
    return load_plans(directory, environ={})


def writes_in(phase: Phase, weight: int = 0) -> dict[tuple[str, str], RouteState]:
    return {route: RouteState(phase, weight) for route in (CANCEL, PUT, BOOK)}


def test_a_canary_with_writes_splits_the_records_by_the_weight(appointments):
    owned = feature_ownership(appointments, writes_in(Phase.CANARY, 30))

    service = [key for key in KEYS if owned.owner_of(key) is Owner.SERVICE]

    assert 0.25 < len(service) / len(KEYS) < 0.35  # about 30 % of the records
    assert owned.describe() == "split 30%"
    # A record's owner never depends on which write route is asked, or on how it is typed.
    assert all(owned.owner_of(str(key)) is owned.owner_of(key) for key in KEYS)


def test_the_proxy_sends_each_records_writes_to_the_owner_the_rule_names(appointments):
    states = {**writes_in(Phase.CANARY, 30), ONE: RouteState(Phase.CANARY, 30)}
    owned = feature_ownership(appointments, states)
    table = build_route_table([appointments], states)

    for key in KEYS:
        for method, template in (CANCEL, PUT):
            path = template.replace("{id:int}", str(key))
            decision = decide(RequestInfo(method, path), table)
            to_service = decision.upstream != LEGACY_UPSTREAM
            assert to_service is (owned.owner_of(key) is Owner.SERVICE), (method, key)


def test_raising_the_weight_only_ever_hands_records_to_the_service(appointments):
    at_10 = feature_ownership(appointments, writes_in(Phase.CANARY, 10))
    at_40 = feature_ownership(appointments, writes_in(Phase.CANARY, 40))

    ten = {key for key in KEYS if at_10.service_owns(key)}
    forty = {key for key in KEYS if at_40.service_owns(key)}

    assert ten < forty
    assert not takes_records_from_service(at_10, at_40)
    assert takes_records_from_service(at_40, at_10)


@pytest.mark.parametrize(
    ("phase", "weight", "owner"),
    [
        (Phase.LEGACY, 0, "legacy"),
        (Phase.SHADOW, 0, "legacy"),
        (Phase.MIGRATED, 0, "service"),
        (Phase.RETIRED, 0, "service"),
    ],
)
def test_outside_a_canary_one_side_owns_every_record(appointments, phase, weight, owner):
    owned = feature_ownership(appointments, writes_in(phase, weight))
    assert {owned.owner_of(key).value for key in KEYS} == {owner}
    assert owned.describe() == owner


def test_a_canary_without_canary_writes_leaves_every_record_with_legacy(tmp_path):
    (patients,) = load_plans_from(tmp_path, "patients")  # canary_writes: false
    states = {("PUT", "/api/patients/{id:int}"): RouteState(Phase.CANARY, 90)}

    owned = feature_ownership(patients, states)

    assert all(owned.owner_of(key) is Owner.LEGACY for key in KEYS)
    assert owned.describe() == "legacy"


def test_reads_alone_decide_a_feature_that_has_no_write_routes():
    routes = deciding_routes([("GET", "/r/{id:int}", Phase.MIGRATED, 0)])
    owned = FeatureOwnership("reports", routes)
    assert owned.owner_of(7) is Owner.SERVICE


def test_reads_do_not_decide_a_feature_that_has_write_routes(appointments):
    # The plan starts the detail read in migrated and every write in legacy.
    owned = feature_ownership(appointments)
    assert owned.describe() == "legacy"
    assert {route.method for route in owned.routes} == {"POST", "PUT"}


def test_it_says_when_write_routes_would_give_one_record_two_writers(appointments):
    split = {**writes_in(Phase.LEGACY), CANCEL: RouteState(Phase.MIGRATED)}
    together = writes_in(Phase.MIGRATED)

    problem = feature_ownership(appointments, split).disagreement()

    assert problem is not None
    assert "POST /api/appointments/{id:int}/cancel (migrated)" in problem
    assert "move the feature's write routes together" in problem
    assert feature_ownership(appointments, together).disagreement() is None
    # Moving one write route between two phases that both leave writes with legacy is fine.
    shadowed = {**writes_in(Phase.LEGACY), PUT: RouteState(Phase.SHADOW)}
    assert feature_ownership(appointments, shadowed).disagreement() is None


def test_writes_routed_by_a_table_from_before_a_change_still_count_as_the_owners(appointments):
    changed = 1_700_000_000_000_000
    owned = feature_ownership(appointments, writes_in(Phase.MIGRATED), changed_at_us=changed)

    assert not owned.settled(changed + 1)  # proxies may still route by the old table
    assert owned.settled(changed + int(SETTLE_SECONDS * 1_000_000))


def test_it_carries_the_plans_rule_for_non_owner_writes(appointments, tmp_path):
    assert feature_ownership(appointments).non_owner_writes is NonOwnerWrites.NEWER_WINS
    text = (SHIPPED / "appointments.yaml").read_text()
    strict = load_one(
        tmp_path, text.replace("non_owner_writes: newer_wins", "non_owner_writes: owner_wins")
    )
    assert feature_ownership(strict).non_owner_writes is NonOwnerWrites.OWNER_WINS


def test_a_route_share_is_the_percentage_of_records_it_gives_the_service():
    assert RouteOwnership("PUT", "/x", Phase.CANARY, 25).share(canary_writes=True) == 25
    assert RouteOwnership("PUT", "/x", Phase.CANARY, 25).share(canary_writes=False) == 0
    assert RouteOwnership("PUT", "/x", Phase.MIGRATED).share(canary_writes=False) == 100
