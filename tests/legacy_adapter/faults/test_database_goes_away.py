"""A database goes away while the worker runs, and comes back: nothing is lost (G1).

SQLite: another process holds the legacy file's exclusive lock (legacy changes queue behind
it, the worker can neither claim nor mark), then the service file's lock. Servers (legacy on
MariaDB, service on PostgreSQL): every connection of the worker is killed by the server
(`KILL`, `pg_terminate_backend`) while legacy keeps writing. In each case the worker keeps
running, catches up by itself, and reconcile then finds 0 drift.
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import time

import pytest
from sqlalchemy import create_engine, make_url, text

from extracted.core.management.commands.sync import TRANSIENT
from legacy_adapter.engines import create_legacy_engine
from tests.legacy_adapter.faults.rig import Rig, django_url, migrate_service
from tests.support.databases import fresh_database

DEADLINE_S = 60.0


def wait_until_drained(rig: Rig, worker: subprocess.Popen[str]) -> None:
    """Poll until the worker has applied everything (a bounded wait, not a timing check)."""
    deadline = time.monotonic() + DEADLINE_S
    while rig.pending_changes():
        assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
        assert time.monotonic() < deadline, "the worker never caught up"
        time.sleep(0.1)


def stop(worker: subprocess.Popen[str]) -> str:
    worker.terminate()
    _out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    return err


def hold_exclusive_lock(path, seconds: float, write=None) -> None:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    conn.execute("BEGIN EXCLUSIVE")
    if write is not None:
        write(conn)
    time.sleep(seconds)  # the database is "away" for this long
    conn.execute("COMMIT")
    conn.close()


def test_the_worker_rides_out_locked_sqlite_files(rig):
    rng = random.Random(7)
    rig.legacy_insert(10, rng)
    worker = rig.start_worker()
    try:
        wait_until_drained(rig, worker)

        def legacy_app_writes(conn) -> None:
            conn.execute("UPDATE APPT_SCHED SET STATUS_CD = 'C', UPD_TS = '20261121235959' "
                         "WHERE APPT_ID IN (2, 4)")  # fmt: skip

        hold_exclusive_lock(rig.dir / "legacy.sqlite3", 1.5, legacy_app_writes)
        rig.legacy_churn(rng, 5)
        hold_exclusive_lock(rig.dir / "appointments.sqlite3", 1.5)
        rig.legacy_churn(rng, 5)
        wait_until_drained(rig, worker)
        verdict = rig.verify()  # while the worker runs
    finally:
        stop(worker) if worker.poll() is None else None

    assert verdict.drift_rows == 0, verdict.reconcile
    assert len(verdict.applied_ids) == len(set(verdict.applied_ids))


def _kill_connections(legacy_url: str, service_url: str) -> int:
    killed = 0
    legacy = make_url(legacy_url)
    admin = create_engine(legacy.set(database=""), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        ids = conn.execute(
            text("SELECT id FROM information_schema.processlist WHERE db = :db "
                 "AND id <> CONNECTION_ID()"), {"db": legacy.database},
        ).scalars().all()  # fmt: skip
        for pid in ids:
            conn.execute(text(f"KILL CONNECTION {int(pid)}"))
            killed += 1
    admin.dispose()
    service = make_url(service_url)
    admin = create_engine(service.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        killed += len(
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = :db AND pid <> pg_backend_pid()"), {"db": service.database},
            ).all()
        )  # fmt: skip
    admin.dispose()
    return killed


@pytest.mark.databases
def test_the_worker_rides_out_killed_server_connections(tmp_path, service_template):
    with (
        fresh_database("mariadb", tmp_path) as legacy_url,
        fresh_database("postgresql", tmp_path) as service_url,
    ):
        rig = Rig(tmp_path, service_template, legacy_url=legacy_url,
                  service_url=django_url(service_url))  # fmt: skip
        rig.service.dispose()
        try:
            migrate_service(rig)
            rig.install()
            rng = random.Random(11)
            rig.legacy_insert(10, rng)
            worker = rig.start_worker()
            try:
                wait_until_drained(rig, worker)
                killed = 0
                for _ in range(3):
                    killed += _kill_connections(legacy_url, service_url)
                    rig.legacy_churn(rng, 6)
                    time.sleep(0.3)
                wait_until_drained(rig, worker)
                verdict = rig.verify()  # while the worker runs
            finally:
                err = stop(worker) if worker.poll() is None else ""
            assert killed >= 3
            assert "database unavailable" in err
            assert verdict.drift_rows == 0, verdict.reconcile
        finally:
            rig.close()


@pytest.mark.databases
def test_a_connection_killed_after_its_pre_ping_is_a_transient_failure(tmp_path):
    """The forward claim sets READ COMMITTED on the connection it checks out; if the server
    kills that connection between the pool's pre-ping and that statement, the driver's error
    comes unwrapped by SQLAlchemy. The worker must back off on it, not exit (seen in CI)."""
    with fresh_database("mariadb", tmp_path) as legacy_url:
        engine = create_legacy_engine(legacy_url)
        admin = create_engine(make_url(legacy_url).set(database=""), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:  # pre-pinged: alive
                own_id = int(conn.connection.dbapi_connection.thread_id())  # type: ignore[union-attr]
                with admin.connect() as killer:
                    killer.execute(text(f"KILL CONNECTION {own_id}"))
                with pytest.raises(TRANSIENT):
                    conn.execution_options(isolation_level="READ COMMITTED")
        finally:
            admin.dispose()
            engine.dispose()
