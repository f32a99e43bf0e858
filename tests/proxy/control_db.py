"""A real control-plane database for proxy tests, and the writes the control plane makes.

`migrated_control_db` creates the C2 tables with the control plane's own Django migrations (in
a subprocess, as a deployment would); `ddl_control_db` creates them from the proxy's SQLAlchemy
definitions (`proxy.control_schema`), which is faster, for unit tests. `set_state` writes a route
state row and bumps the generation in one transaction, as `migration_plans.services` does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, insert, select, update

from proxy.control_schema import (
    evidence_sample_table,
    evidence_tally_table,
    generation_table,
    metadata,
    route_state_table,
    route_stats_table,
)

ROOT = Path(__file__).resolve().parents[2]


def migrated_control_db(path: Path) -> str:
    env = {
        **os.environ,
        "FICUS_DB_DEFAULT_URL": f"sqlite:///{path}",
        "FICUS_VAR_DIR": str(path.parent / "var"),
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--database", "default", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return f"sqlite:///{path}"


def ddl_control_db(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()
    return url


def set_state(
    url: str, feature: str, method: str, template: str, phase: str, weight: int = 0
) -> int:
    """Upsert one route state and bump the generation; returns the new generation."""
    engine = create_engine(url)
    now = datetime.now(UTC)
    c = route_state_table.c
    try:
        with engine.begin() as conn:
            conn.execute(
                delete(route_state_table).where(c.method == method, c.template == template)
            )
            conn.execute(
                insert(route_state_table).values(
                    feature=feature,
                    method=method,
                    template=template,
                    phase=phase,
                    weight=weight,
                    since=now,
                    actor="operator",
                )
            )
            generation = conn.execute(
                select(generation_table.c.generation).where(generation_table.c.id == 1)
            ).scalar()
            if generation is None:
                generation = 1
                conn.execute(insert(generation_table).values(id=1, generation=1, changed_at=now))
            else:
                generation += 1
                conn.execute(
                    update(generation_table)
                    .where(generation_table.c.id == 1)
                    .values(generation=generation, changed_at=now)
                )
    finally:
        engine.dispose()
    return int(generation)


def stats_rows(url: str) -> list[dict[str, Any]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(route_stats_table)).mappings().all()
    finally:
        engine.dispose()
    return [{**row, "latency_buckets": json.loads(row["latency_buckets"])} for row in rows]


def evidence_rows(url: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(tally rows with the tally decoded, sample rows) as the proxy wrote them."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tallies = conn.execute(select(evidence_tally_table)).mappings().all()
            samples = conn.execute(select(evidence_sample_table)).mappings().all()
    finally:
        engine.dispose()
    return [{**r, "tally": json.loads(r["tally"])} for r in tallies], [dict(r) for r in samples]
