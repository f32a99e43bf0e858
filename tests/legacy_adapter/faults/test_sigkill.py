"""SIGKILL the sync worker at every crash point, in seeded random runs, and lose nothing.

Each run: legacy rows and random churn (inserts, same-second and newer updates, deletes),
sometimes service writes with their outbox rows; a worker killed with SIGKILL at one named
point (the n-th time it gets there); more churn while it is dead; then a clean worker drains
everything and reconcile must find 0 drift, no change applied twice, no echo applied, and no
stale version in the service (G1 to G5).
"""

from __future__ import annotations

import random
import signal
import subprocess

import pytest

from legacy_adapter.crashpoints import POINTS
from tests.legacy_adapter.faults.rig import Rig, django_url, migrate_service
from tests.support.databases import fresh_database

RUNS = 21  # three per crash point
FORWARD_POINTS = ("after-claim", "mid-batch", "after-target-commit", "after-source-mark")


def scenario(rig, seed: int) -> tuple[str, subprocess.CompletedProcess[str]]:
    rng = random.Random(seed)
    point = POINTS[seed % len(POINTS)]
    crash = f"{point}@{rng.randint(1, 3)}"
    if point == "backfill-chunk":
        # Rows that predate capture: only the backfill can copy them.
        rig.legacy_insert(12, rng)
        with rig.legacy.begin() as conn:
            conn.exec_driver_sql("UPDATE ficus_change SET done_at_us = 0")
        killed = rig.manage("sync", "backfill", "appointments", "--batch-size", "3", crash=crash)
        rig.legacy_churn(rng, 6)  # live changes while the backfill is down
        resumed = rig.manage("sync", "backfill", "appointments", "--batch-size", "3")
        assert resumed.returncode == 0, resumed.stderr
        return crash, killed
    rig.legacy_insert(10, rng)
    rig.legacy_churn(rng, 10)
    if point.startswith("reverse"):
        seeded = rig.manage("sync", "run", "--once", "--direction", "forward")
        assert seeded.returncode == 0, seeded.stderr
        for key in rng.sample(rig.legacy_keys(), 6):
            rig.service_edit(key, rng)
        killed = rig.manage(
            "sync", "run", "--once", "--direction", "reverse", "--batch-size", "2", crash=crash
        )
        return crash, killed
    killed = rig.manage(
        "sync", "run", "--once", "--direction", "forward", "--batch-size", "4", crash=crash
    )
    rig.legacy_churn(rng, 5)
    return crash, killed


@pytest.mark.parametrize("seed", range(RUNS))
def test_it_loses_nothing_when_the_worker_is_killed(rig, seed):
    crash, killed = scenario(rig, seed)

    assert killed.returncode == -signal.SIGKILL, (crash, killed.stdout, killed.stderr[-2000:])
    direction = "reverse" if crash.startswith("reverse") else "forward"
    verdict = rig.verify(direction)

    assert verdict.drift_rows == 0, verdict.reconcile
    assert len(verdict.applied_ids) == len(set(verdict.applied_ids))  # nothing applied twice
    assert not (set(verdict.applied_ids) & rig.echo_ids())  # no echo applied
    assert rig.pending_changes() == 0
    if direction == "reverse":
        assert rig.echo_ids()  # the reverse writes did reach legacy, marked as Ficus's own


SERVER_POINTS = (*FORWARD_POINTS, "backfill-chunk")


@pytest.mark.databases
@pytest.mark.parametrize("point", SERVER_POINTS)
def test_it_loses_nothing_when_killed_with_legacy_on_mariadb_and_service_on_postgresql(
    tmp_path, service_template, point
):
    seed = POINTS.index(point)
    with (
        fresh_database("mariadb", tmp_path) as legacy_url,
        fresh_database("postgresql", tmp_path) as service_url,
    ):
        rig = Rig(tmp_path, service_template, legacy_url=legacy_url,
                  service_url=django_url(service_url))  # fmt: skip
        try:
            migrate_service(rig)
            rig.install()
            crash, killed = scenario(rig, seed)
            assert killed.returncode == -signal.SIGKILL, (crash, killed.stderr[-2000:])
            verdict = rig.verify("forward")
            assert verdict.drift_rows == 0, verdict.reconcile
            assert len(verdict.applied_ids) == len(set(verdict.applied_ids))
            assert rig.pending_changes() == 0
        finally:
            rig.close()
