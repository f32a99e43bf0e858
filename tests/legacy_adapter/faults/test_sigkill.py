"""SIGKILL the sync worker at every crash point, in seeded random runs, and lose nothing.

Each run is one scenario of a real cutover, through real processes (tests.support.sync_stack):
the appointments service under `runservice`, the sync worker under `sync run` (both
directions, as deployed), the operator's `plan advance|rollback`, and writes on both sides:
  * `churn`: legacy writes only, while legacy owns everything (the classic forward case);
  * `canary`: a canary with writes, each write sent to its record's owner (as the proxy
    routes it), and some sent to the other side, which must refuse them;
  * `flip`: writes on both sides while the feature is migrated and forced back and forth, so
    writes are in flight in both directions at every flip;
  * `direct`: migrated, with other legacy modules writing the legacy database as well.
The worker kills itself with SIGKILL at one named point (the n-th time it gets there) and is
started again, as systemd would; writes go on meanwhile. The test never drains: it waits until
the running worker has nothing pending, then checks, with the worker still running, that every
record holds its newest accepted write on both sides (0 lost, 0 stale), that reconcile finds
0 drift, that no change was applied twice and no echo applied, and that no dead letter is
left. Writes of one record are at least 2 ms apart: SQLite's capture clock has milliseconds,
and two writes closer than that are a tie, which the owner wins (docs/sync.md).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import pytest

from domain.ownership import FeatureOwnership, Owner, feature_ownership
from domain.phases import Phase
from domain.plans import load_plans
from domain.route_table import RouteState
from legacy_adapter.crashpoints import POINTS
from tests.support.databases import fresh_database
from tests.support.ownership import SHIPPED
from tests.support.sync_stack import SyncStack

pytestmark = pytest.mark.e2e

SCENARIOS = ("churn", "canary", "flip", "direct")
LIVE_POINTS = tuple(p for p in POINTS if p != "backfill-chunk")  # the backfill has its own
FORWARD_POINTS = tuple(p for p in LIVE_POINTS if not p.startswith("reverse"))
KEYS = 12
WRITES = (
    ("POST", "/api/appointments"),
    ("PUT", "/api/appointments/{id:int}"),
    ("POST", "/api/appointments/{id:int}/cancel"),
)


def ownership(phase: Phase, weight: int = 0) -> FeatureOwnership:
    (plan,) = [p for p in load_plans(SHIPPED, environ={}) if p.feature == "appointments"]
    return feature_ownership(plan, {route: RouteState(phase, weight) for route in WRITES})


@dataclass
class Run:
    stack: SyncStack
    rng: random.Random
    owners: FeatureOwnership = field(default_factory=lambda: ownership(Phase.LEGACY))
    newest: dict[int, str] = field(default_factory=dict)
    refused: int = 0
    step: int = 0

    def legacy_write(self, key: int) -> None:
        time.sleep(0.01)  # spread over several of the worker's batches
        reason = f"L{self.step}"
        self.stack.legacy_edit(key, REASON_TXT=reason)
        self.newest[key] = reason

    def service_write(self, key: int) -> None:
        time.sleep(0.002)
        reason = f"S{self.step}"
        answer = self.stack.reschedule(key, reason)
        if answer.status == 200:
            self.newest[key] = reason
        else:
            assert answer.status == 409, (answer.status, answer.body)
            self.refused += 1

    def routed_write(self) -> None:
        """A write as the proxy routes it: to the record's owner."""
        self.step += 1
        key = self.rng.randint(1, KEYS)
        if self.owners.owner_of(key) is Owner.SERVICE:
            self.service_write(key)
        else:
            self.legacy_write(key)
        self.stack.supervise()


def scenario(stack: SyncStack, seed: int) -> Run:
    rng = random.Random(seed)
    run = Run(stack, rng)
    name = SCENARIOS[seed % len(SCENARIOS)]
    # Legacy-only churn never reaches the reverse applier's points.
    points = FORWARD_POINTS if name == "churn" else LIVE_POINTS
    point = points[(seed // len(SCENARIOS)) % len(points)]
    stack.prepare(appointments=KEYS)
    stack.start_service("appointments")
    if name in ("flip", "direct"):
        stack.advance("appointments", "shadow", "canary", "migrated", weight=1)
        run.owners = ownership(Phase.MIGRATED)
    elif name == "canary":
        stack.advance("appointments", "shadow", "canary", weight=50)
        run.owners = ownership(Phase.CANARY, 50)
    stack.start_worker(crash=f"{point}@{rng.randint(1, 2)}")
    stack.wait_ready()
    for _ in range(12):
        run.routed_write()
    if name == "canary":  # writes sent to the side that does not own the record: refused
        for key in rng.sample(range(1, KEYS + 1), 4):
            if run.owners.owner_of(key) is Owner.LEGACY:
                run.step += 1
                run.service_write(key)
    if name == "direct":  # other legacy modules write migrated records straight in legacy
        for _ in range(6):
            run.step += 1
            run.legacy_write(rng.randint(1, KEYS))
            run.routed_write()
    if name == "flip":  # forced back to legacy with writes in flight, then migrated again
        stack.rollback("appointments", "shadow")
        run.owners = ownership(Phase.SHADOW)
        for _ in range(6):
            run.routed_write()
        stack.advance("appointments", "canary", "migrated", weight=1)
        run.owners = ownership(Phase.MIGRATED)
        for _ in range(6):
            run.routed_write()
    for _ in range(6):
        run.routed_write()
    return run


def check(run: Run) -> None:
    stack = run.stack
    stack.wait_drained()  # the running worker applies everything; the test only waits
    for key, reason in run.newest.items():
        legacy = stack.legacy_appointment(key)
        service = stack.service_row("appointments", key)
        assert legacy is not None
        assert service is not None
        assert (key, legacy["REASON_TXT"]) == (key, reason), stack.conflicts()
        assert (key, service["reason"]) == (key, reason), stack.conflicts()
    assert stack.drift() == 0
    applied = stack.applied_ids()
    assert len(applied) == len(set(applied))  # nothing applied twice
    assert not set(applied) & stack.echo_ids()  # no echo applied
    assert stack.dead_letters() == []
    assert stack.worker_starts >= 2  # it was killed at its crash point, and started again


@pytest.mark.parametrize("seed", range(12))
def test_it_loses_nothing_when_the_worker_is_killed(stack, seed):
    check(scenario(stack, seed))


@pytest.mark.databases
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_it_loses_nothing_when_killed_with_legacy_on_mariadb_and_service_on_postgresql(
    tmp_path, seed
):
    with (
        fresh_database("mariadb", tmp_path) as legacy_url,
        fresh_database("postgresql", tmp_path) as service_url,
    ):
        stack = SyncStack(
            tmp_path,
            legacy_url=legacy_url,
            service_urls={"appointments": service_url.replace("+psycopg", "")},
        )
        try:
            check(scenario(stack, seed))
        finally:
            stack.close()
