"""The control plane on a real PostgreSQL server: the chain survives the round trip.

Timestamps with microseconds, the canonical details text and the generation row must read back
exactly as they were hashed and written, whatever the backend. Real processes, real server.
(MariaDB is left out: Django's MySQL backend needs mysqlclient, which Ficus does not install.)
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, make_url, text

from tests.migration_plans.manage_process import SHIPPED_PLANS, control_env, manage, migrate
from tests.support.databases import fresh_database

pytestmark = pytest.mark.databases


@pytest.fixture
def control_db(tmp_path):
    with fresh_database("postgresql", tmp_path) as url:
        yield url


def test_it_records_moves_and_verifies_the_chain_on_postgresql(control_db, tmp_path):
    django_url = make_url(control_db).set(drivername="postgresql").render_as_string(False)
    env = control_env(
        django_url,
        tmp_path,
        SHIPPED_PLANS,
        FICUS_AUDIT_KEY="a-test-audit-key-of-at-least-32-bytes",
        FICUS_EVIDENCE_PROVIDERS="",
    )
    migrate(env)
    moved = manage(
        env, "plan", "advance", "patients", "--force", "--reason", "r", "--actor", "olga"
    )
    assert moved.returncode == 0, moved.stderr
    assert manage(env, "audit", "digest", "--actor", "ana").returncode == 0
    verified = manage(env, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "signatures checked" in verified.stdout
    engine = create_engine(control_db)
    try:
        with engine.begin() as conn:
            generation = conn.execute(
                text("SELECT generation FROM ficus_control_generation WHERE id = 1")
            ).scalar_one()
            assert generation == 2  # registration, then the advance
            conn.execute(text("UPDATE ficus_audit_record SET subject = 'x' WHERE seq = 2"))
    finally:
        engine.dispose()
    broken = manage(env, "audit", "verify")
    assert broken.returncode == 1
    assert "broken at record 2: record 2 was edited" in broken.stderr
