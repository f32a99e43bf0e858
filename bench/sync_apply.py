"""Sync benchmarks (issue 5, DESIGN.md §9): apply throughput, lag, backfill, reconcile, RSS.

Each case runs in a fresh child process (`python -m bench.sync_apply CASE ...`) with its own
legacy and service databases, so its peak RSS is its own (`ru_maxrss`) and nothing it cached
helps the next one. The parent collects one JSON line per case.

  apply      N legacy inserts, then N updates, captured by the triggers; time to drain them
             through the forward applier (target >= 5,000 changes/s)
  lag        a writer process commits single-row legacy transactions at a steady 200/s while
             the applier polls every 50 ms; lag of each change = trigger time to done time
             (target p99 <= 1 s)
  backfill   copy N legacy appointments into an empty service (target <= 60 s at 1M, on
             SQLite and on PostgreSQL; peak RSS <= 250 MB)
  reconcile  compare N identical rows (target <= 20 s at 1M), then with 100 scattered
             differences (reported); peak RSS <= 250 MB
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get(
    "FICUS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@dataclass(frozen=True)
class SyncResult:
    case: str
    backend: str
    rows: int
    seconds: float
    per_second: float
    peak_rss_mib: float
    extra: dict[str, Any]


# -- the child side -------------------------------------------------------------------------


def _setup_django(workdir: Path, service_url: str) -> None:
    os.environ.update(
        FICUS_VAR_DIR=str(workdir),
        FICUS_SERVICE="appointments",
        FICUS_DB_DEFAULT_URL=f"sqlite:///{workdir / 'control.sqlite3'}",
        FICUS_DB_APPOINTMENTS_URL=service_url,
        DJANGO_SETTINGS_MODULE="extracted.settings",
        FICUS_LOG_LEVEL="ERROR",
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", database="appointments", verbosity=0)


def _legacy(url: str, *, capture_first: bool) -> Any:
    from sqlalchemy import create_engine

    from demo.legacy import ddl
    from legacy_adapter import migrations

    engine = create_engine(url)
    with engine.begin() as conn:
        ddl.create_schema(conn)
    if capture_first:
        migrations.upgrade(engine)
    return engine


def _seed(engine: Any, rows: int, *, start: int = 1, chunk: int = 50_000) -> None:
    from sqlalchemy import insert

    from legacy_adapter.schema import ApptSched, PatientMaster

    rng = random.Random(42)
    with engine.begin() as conn:
        conn.execute(
            insert(PatientMaster),
            [
                {"PAT_ID": p, "MRN": f"M{p:07d}", "LAST_NM": f"LAST{p}", "FIRST_NM": "ANN",
                 "DOB": "19800101", "SEX_CD": "F", "UPD_TS": "20260101000000"}
                for p in range(1, 201)
            ],
        )  # fmt: skip
    for base in range(start, start + rows, chunk):
        batch = [
            {
                "APPT_ID": key,
                "PAT_ID": 1 + key % 200,
                "PROV_ID": 1 + key % 20,
                "APPT_DT": f"2026{1 + key % 12:02d}{1 + key % 28:02d}",
                "APPT_TM": f"{8 + key % 9:02d}{rng.choice((0, 15, 30, 45)):02d}",
                "DUR_MIN": 15,
                "STATUS_CD": "B",
                "REASON_TXT": "FOLLOW UP",
                "UPD_TS": "20261120083000",
            }
            for key in range(base, min(base + chunk, start + rows))
        ]
        with engine.begin() as conn:
            conn.execute(insert(ApptSched), batch)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sync() -> Any:
    from legacy_adapter.features import feature_sync

    sync = feature_sync("appointments")
    sync.target.ensure_tables()
    return sync


def child_apply(workdir: Path, rows: int) -> dict[str, Any]:
    from sqlalchemy import text

    from legacy_adapter.forward_apply import ForwardApplier

    _setup_django(workdir, f"sqlite:///{workdir / 'appointments.sqlite3'}")
    engine = _legacy(f"sqlite:///{workdir / 'legacy.sqlite3'}", capture_first=True)
    sync = _sync()
    _seed(engine, rows)
    started = time.perf_counter()
    inserted = ForwardApplier(engine, sync.source, sync.target, batch_size=1000).drain()
    first = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(text("UPDATE APPT_SCHED SET STATUS_CD = 'A', UPD_TS = '20261121090000'"))
    started = time.perf_counter()
    updated = ForwardApplier(engine, sync.source, sync.target, batch_size=1000).drain()
    second = time.perf_counter() - started
    total = inserted.claimed + updated.claimed
    return {
        "rows": total,
        "seconds": first + second,
        "extra": {
            "inserts_per_s": round(inserted.claimed / first),
            "updates_per_s": round(updated.claimed / second),
        },
    }


WRITER = """
import sys, time
from sqlalchemy import create_engine, text
engine = create_engine(sys.argv[1], connect_args={"timeout": 30})
rate, seconds = float(sys.argv[2]), float(sys.argv[3])
start = time.perf_counter(); n = 0
while time.perf_counter() - start < seconds:
    due = start + n / rate
    now = time.perf_counter()
    if due > now:
        time.sleep(due - now)
    with engine.begin() as conn:
        conn.execute(text("UPDATE APPT_SCHED SET DUR_MIN = :d WHERE APPT_ID = :k"),
                     {"d": 15 + n % 30, "k": 1 + n % 5000})
    n += 1
print(n)
"""


def child_lag(workdir: Path, rate: float, seconds: float) -> dict[str, Any]:
    from sqlalchemy import text

    from legacy_adapter.forward_apply import ForwardApplier

    _setup_django(workdir, f"sqlite:///{workdir / 'appointments.sqlite3'}")
    url = f"sqlite:///{workdir / 'legacy.sqlite3'}"
    engine = _legacy(url, capture_first=True)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    sync = _sync()
    _seed(engine, 5000)
    applier = ForwardApplier(engine, sync.source, sync.target, batch_size=1000)
    applier.drain()
    with engine.begin() as conn:
        mark = conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM ficus_change")).scalar_one()
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, url, str(rate), str(seconds)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    while writer.poll() is None:
        if applier.run_batch() is None:
            time.sleep(0.05)
    applier.drain()
    written = int((writer.stdout.read() if writer.stdout else "0").strip() or 0)
    with engine.connect() as conn:
        lags = [
            (done - created) / 1e6
            for created, done in conn.execute(
                text("SELECT created_at_us, done_at_us FROM ficus_change WHERE id > :m"),
                {"m": mark},
            )
        ]
    lags.sort()
    return {
        "rows": written,
        "seconds": seconds,
        "extra": {
            "rate_per_s": rate,
            "achieved_per_s": round(written / seconds, 1),
            "lag_p50_s": round(lags[len(lags) // 2], 3),
            "lag_p99_s": round(lags[int(len(lags) * 0.99)], 3),
            "lag_max_s": round(lags[-1], 3),
        },
    }


def child_backfill(workdir: Path, rows: int, legacy_url: str, service_url: str) -> dict[str, Any]:
    from legacy_adapter.forward_copy import Backfill

    _setup_django(workdir, service_url)
    engine = _legacy(legacy_url, capture_first=False)
    _seed(engine, rows)
    from legacy_adapter import migrations

    migrations.upgrade(engine)
    sync = _sync()
    started = time.perf_counter()
    report = Backfill(engine, sync.source, sync.target.backfill_apply, batch_size=5000).run()
    seconds = time.perf_counter() - started
    assert report.applied == rows, report.summary()
    return {"rows": rows, "seconds": seconds, "extra": {}}


def child_reconcile(workdir: Path, rows: int, differences: int) -> dict[str, Any]:
    _setup_django(workdir, f"sqlite:///{workdir / 'appointments.sqlite3'}")
    from django.db import connections
    from sqlalchemy import create_engine

    from legacy_adapter.operations import reconcile_feature

    url = f"sqlite:///{workdir / 'legacy.sqlite3'}"

    engine = create_engine(url)
    sync = _sync()
    if differences:
        rng = random.Random(7)
        keys = rng.sample(range(1, rows + 1), differences)
        with connections["appointments"].cursor() as cursor:
            cursor.executemany(
                "UPDATE appointments_appointment SET reason = 'DRIFTED' WHERE id = %s",
                [(k,) for k in keys],
            )
    started = time.perf_counter()
    outcome = reconcile_feature(engine, sync)
    seconds = time.perf_counter() - started
    assert outcome.drift_rows == differences, outcome.report.drift
    return {
        "rows": rows,
        "seconds": seconds,
        "extra": {
            "differences": differences,
            "found": outcome.drift_rows,
            "differing_ranges": outcome.report.differing_ranges,
        },
    }


def _child(argv: list[str]) -> None:
    case, workdir = argv[0], Path(argv[1])
    args = argv[2:]
    if case == "apply":
        out = child_apply(workdir, int(args[0]))
    elif case == "lag":
        out = child_lag(workdir, float(args[0]), float(args[1]))
    elif case == "backfill":
        out = child_backfill(workdir, int(args[0]), args[1], args[2])
    else:
        out = child_reconcile(workdir, int(args[0]), int(args[1]))
    out["peak_rss_mib"] = _peak_mib()
    print(json.dumps(out))


# -- the parent side ------------------------------------------------------------------------


def _run_child(case: str, backend: str, workdir: Path, *args: str) -> SyncResult:
    done = subprocess.run(
        [sys.executable, "-m", "bench.sync_apply", "--child", case, str(workdir), *args],
        cwd=REPO, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"sync bench {case} failed:\n{done.stderr[-3000:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    rows, seconds = int(found["rows"]), float(found["seconds"])
    return SyncResult(
        case=case,
        backend=backend,
        rows=rows,
        seconds=round(seconds, 2),
        per_second=round(rows / seconds) if seconds else 0,
        peak_rss_mib=round(found["peak_rss_mib"], 1),
        extra=found["extra"],
    )


def _pg_database(name: str) -> str:
    from sqlalchemy import create_engine, make_url, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def _drop_pg(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def run(*, rows: int = 1_000_000, apply_rows: int = 20_000, lag_seconds: float = 10.0,
        postgres: bool = True) -> list[SyncResult]:  # fmt: skip
    results: list[SyncResult] = []
    base = Path(tempfile.mkdtemp(prefix="ficus-sync-bench-"))
    try:

        def fresh(name: str) -> Path:
            path = base / name
            path.mkdir()
            return path

        results.append(_run_child("apply", "sqlite", fresh("apply"), str(apply_rows)))
        results.append(_run_child("lag", "sqlite", fresh("lag"), "200", str(lag_seconds)))
        work = fresh("backfill-sqlite")
        results.append(
            _run_child(
                "backfill", "sqlite", work, str(rows),
                f"sqlite:///{work / 'legacy.sqlite3'}",
                f"sqlite:///{work / 'appointments.sqlite3'}",
            )
        )  # fmt: skip
        # Reconcile the databases the backfill just filled: identical, then with differences.
        results.append(_run_child("reconcile", "sqlite", work, str(rows), "0"))
        results.append(_run_child("reconcile", "sqlite", work, str(rows), "100"))
        shutil.rmtree(work, ignore_errors=True)
        if postgres:
            legacy_db, service_db = "ficus_bench_legacy", "ficus_bench_service"
            try:
                legacy_url = _pg_database(legacy_db)
                service_url = _pg_database(service_db).replace("postgresql+psycopg", "postgresql")
                results.append(
                    _run_child("backfill", "postgresql", fresh("backfill-pg"), str(rows),
                               legacy_url, service_url)
                )  # fmt: skip
            finally:
                _drop_pg(legacy_db)
                _drop_pg(service_db)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return results


def report(results: list[SyncResult]) -> list[str]:
    lines = [f"{'sync':<26}{'rows':>10}{'seconds':>9}{'rows/s':>10}{'peak RSS MiB':>14}  notes"]
    for r in results:
        name = f"{r.case} ({r.backend})"
        if r.case == "reconcile":
            name = f"reconcile, {r.extra['differences']} diffs"
        notes = ", ".join(f"{k} {v}" for k, v in r.extra.items() if k != "differences")
        lines.append(
            f"{name:<26}{r.rows:>10}{r.seconds:>9.2f}{r.per_second:>10}{r.peak_rss_mib:>14.1f}"
            f"  {notes}"
        )
    targets = {
        "apply": "apply >= 5,000 changes/s",
        "lag": "lag p99 <= 1 s at 200 writes/s",
        "backfill": "backfill 1M <= 60 s, peak RSS <= 250 MiB",
        "reconcile": "reconcile 1M identical <= 20 s, peak RSS <= 250 MiB",
    }
    lines.append("targets: " + "; ".join(targets.values()))
    return lines


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.sync_apply")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--apply-rows", type=int, default=20_000)
    parser.add_argument("--lag-seconds", type=float, default=10.0)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    results = run(rows=args.rows, apply_rows=args.apply_rows, lag_seconds=args.lag_seconds,
                  postgres=not args.no_postgres)  # fmt: skip
    print("\n".join(report(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
