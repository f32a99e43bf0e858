"""Sync benchmarks (issue 5, DESIGN.md §9): apply throughput, lag, backfill, reconcile, RSS.

Each case runs in a fresh child process (`python -m bench.sync_child CASE ...`, the cases are in
bench/sync_cases.py) with its own legacy and service databases, passed in its environment, so
its peak RSS is its own (`ru_maxrss`) and nothing it cached helps the next one. The parent
collects one JSON line per case.

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
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

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


def _child_env(workdir: Path, service_url: str) -> dict[str, str]:
    """The child's settings: its own var dir and databases, the appointments service only."""
    return {
        **os.environ,
        "FICUS_VAR_DIR": str(workdir),
        "FICUS_SERVICE": "appointments",
        "FICUS_DB_DEFAULT_URL": f"sqlite:///{workdir / 'control.sqlite3'}",
        "FICUS_DB_APPOINTMENTS_URL": service_url,
        "DJANGO_SETTINGS_MODULE": "extracted.settings",
        "FICUS_LOG_LEVEL": "ERROR",
    }


def _run_child(
    case: str, backend: str, workdir: Path, *args: str, service_url: str | None = None
) -> SyncResult:
    service_url = service_url or f"sqlite:///{workdir / 'appointments.sqlite3'}"
    done = subprocess.run(
        [sys.executable, "-m", "bench.sync_child", case, str(workdir), *args],
        cwd=REPO, env=_child_env(workdir, service_url), capture_output=True, text=True,
        timeout=1800,
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
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def _drop_pg(name: str) -> None:
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
        legacy_url = f"sqlite:///{work / 'legacy.sqlite3'}"
        results.append(_run_child("backfill", "sqlite", work, str(rows), legacy_url))
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
                               legacy_url, service_url=service_url)
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
