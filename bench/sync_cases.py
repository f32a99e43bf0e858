"""The cases of the sync benchmarks, run one per child process (see bench/sync_apply.py).

Run only through bench/sync_child.py: the parent sets the environment (databases, settings)
and the child entry sets Django up before importing this module, which imports Django models.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.db import connections
from sqlalchemy import Engine, create_engine, insert, text

from demo.legacy import ddl
from legacy_adapter import migrations
from legacy_adapter.features import FeatureSync, feature_sync
from legacy_adapter.forward_apply import ForwardApplier
from legacy_adapter.forward_copy import Backfill
from legacy_adapter.operations import reconcile_feature
from legacy_adapter.schema import ApptSched, PatientMaster


def _legacy(url: str, *, capture_first: bool) -> Engine:
    engine = create_engine(url)
    with engine.begin() as conn:
        ddl.create_schema(conn)
    if capture_first:
        migrations.upgrade(engine)
    return engine


def _seed(engine: Engine, rows: int, *, start: int = 1, chunk: int = 50_000) -> None:
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


def _sync() -> FeatureSync:
    sync = feature_sync("appointments")
    sync.target.ensure_tables()
    return sync


def child_apply(workdir: Path, rows: int) -> dict[str, Any]:
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


# The lag case's legacy writer, a separate process so that it competes with the applier the
# way the legacy application would.
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


def child_backfill(rows: int, legacy_url: str) -> dict[str, Any]:
    engine = _legacy(legacy_url, capture_first=False)
    _seed(engine, rows)
    migrations.upgrade(engine)
    sync = _sync()
    started = time.perf_counter()
    report = Backfill(engine, sync.source, sync.target.backfill_apply, batch_size=5000).run()
    seconds = time.perf_counter() - started
    assert report.applied == rows, report.summary()
    return {"rows": rows, "seconds": seconds, "extra": {}}


def child_reconcile(workdir: Path, rows: int, differences: int) -> dict[str, Any]:
    engine = create_engine(f"sqlite:///{workdir / 'legacy.sqlite3'}")
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


def main(argv: list[str]) -> int:
    """Run one case (`CASE WORKDIR ARGS...`) and print its result as one JSON line."""
    case, workdir = argv[0], Path(argv[1])
    args = argv[2:]
    call_command("migrate", database="appointments", verbosity=0)
    if case == "apply":
        out = child_apply(workdir, int(args[0]))
    elif case == "lag":
        out = child_lag(workdir, float(args[0]), float(args[1]))
    elif case == "backfill":
        out = child_backfill(int(args[0]), args[1])
    else:
        out = child_reconcile(workdir, int(args[0]), int(args[1]))
    out["peak_rss_mib"] = _peak_mib()
    print(json.dumps(out))
    return 0
