"""The shadow evidence loop on a real PostgreSQL server: what a proxy worker writes with its
SQLAlchemy view of the tables, the control plane's own migrations created, and
`manage.py plan evidence` reads back (real processes, real server)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, make_url

from proxy.evidence_store import EvidenceStore, Sample
from tests.migration_plans.manage_process import SHIPPED_PLANS, control_env, manage, migrate
from tests.support.databases import fresh_database

pytestmark = pytest.mark.databases
ROUTE = ("GET", "/api/patients/{id:int}")


def test_what_a_proxy_writes_is_what_plan_evidence_prints(tmp_path):
    with fresh_database("postgresql", tmp_path) as url:
        django_url = make_url(url).set(drivername="postgresql").render_as_string(False)
        env = control_env(django_url, tmp_path, SHIPPED_PLANS, FICUS_EVIDENCE_PROVIDERS="")
        migrate(env)
        # Registered first: evidence counts from the phase's start on.
        assert manage(env, "plan", "status", "patients").returncode == 0
        engine = create_engine(url)
        try:
            store = EvidenceStore(worker="w1", clock=time.time)
            tally = store.tally("patients", *ROUTE)
            assert tally is not None
            for n in range(10):
                tally.add(["body.NAME"] if n < 3 else [])
            store.add_sample(
                Sample("patients", *ROUTE, "body.NAME", "real", '"Name-1"', '"Name-2"', 5)
            )
            assert store.flush(engine, {"patients": 30}) == 1
        finally:
            engine.dispose()
        shown = manage(env, "plan", "evidence", "patients", "--route", " ".join(ROUTE))
        assert shown.returncode == 0, shown.stderr
        assert "compared 10 exchanges" in shown.stdout
        assert 'real: legacy "Name-1"  /  other "Name-2"' in shown.stdout
