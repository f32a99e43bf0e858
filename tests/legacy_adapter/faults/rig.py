"""A test rig for sync fault tests: real databases, real `manage.py sync` processes.

The worker runs as its own process, as deployed (both directions), so it can be SIGKILLed
(`FICUS_SYNC_CRASH_AT`, see legacy_adapter/crashpoints.py) or its databases taken away. The
legacy database is driven in-process with SQLAlchemy, the way the legacy app writes (its own
transactions, no origin marker). `verify()` only reads, while the worker still runs: reconcile
and the change ids applied, so the test can check that nothing was lost, applied twice or
echoed. The stack of tests.support.sync_stack adds the real service process and the operator.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, delete, insert, make_url, select, text, update

from legacy_adapter import migrations
from legacy_adapter.schema import ApptSched
from tests.legacy_adapter.legacy_db import add_patient, appointment_row, create_legacy_schema

REPO = Path(__file__).resolve().parents[3]
MANAGE = str(REPO / "manage.py")

# Reads only: the worker that applies is the running one (the test never drains for it).
VERIFY = """
import io, json, sys
import django
django.setup()
from django.core.management import call_command
from django.db import connections
out = io.StringIO()
rec = io.StringIO()
call_command("sync", "reconcile", "appointments", stdout=rec)
with connections["appointments"].cursor() as cur:
    cur.execute("SELECT change_id FROM ficus_applied_change")
    applied = [row[0] for row in cur.fetchall()]
print(json.dumps({"run": out.getvalue(), "reconcile": rec.getvalue(), "applied": applied}))
"""


@dataclass
class Verdict:
    drift_rows: int
    applied_ids: list[int]
    reconcile: str


class Rig:
    def __init__(self, tmp_path: Path, template: Path, *, legacy_url: str | None = None,
                 service_url: str | None = None) -> None:  # fmt: skip
        self.dir = tmp_path
        for name in ("appointments.sqlite3", "control.sqlite3"):
            if (template / name).exists():
                shutil.copyfile(template / name, tmp_path / name)
        self.legacy_url = legacy_url or f"sqlite:///{tmp_path / 'legacy.sqlite3'}"
        self.service_url = service_url or f"sqlite:///{tmp_path / 'appointments.sqlite3'}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("FICUS_", "DJANGO_"))}
        self.env.update(
            FICUS_VAR_DIR=str(tmp_path),
            FICUS_SERVICE="appointments",
            FICUS_DB_DEFAULT_URL=f"sqlite:///{tmp_path / 'control.sqlite3'}",
            FICUS_DB_APPOINTMENTS_URL=self.service_url,
            LEGACY_DATABASE_URL=self.legacy_url,
            FICUS_HOSPITAL_TZ="America/Chicago",
            DJANGO_SETTINGS_MODULE="extracted.settings",
            FICUS_LOG_LEVEL="WARNING",
        )
        self.legacy: Engine = create_engine(self.legacy_url, pool_pre_ping=True)
        self.service: Engine = create_engine(self.service_url, pool_pre_ping=True)
        self.next_key = 1

    def install(self, patients: int = 3) -> None:
        create_legacy_schema(self.legacy)
        migrations.upgrade(self.legacy)
        for pat in range(1, patients + 1):
            add_patient(self.legacy, pat, f"LAST{pat}", f"FIRST{pat}")

    def close(self) -> None:
        self.legacy.dispose()
        self.service.dispose()

    # -- processes -----------------------------------------------------------------------------

    def manage(self, *args: str, crash: str | None = None, timeout: float = 120):
        env = dict(self.env)
        if crash:
            env["FICUS_SYNC_CRASH_AT"] = crash
        return subprocess.run(
            [sys.executable, MANAGE, *args], env=env, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip

    def start_worker(self, *args: str) -> subprocess.Popen[str]:
        """`sync run` as deployed: both directions, until stopped."""
        return subprocess.Popen(
            [sys.executable, MANAGE, "sync", "run", "--feature", "appointments",
             "--interval", "0.05", *args],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip

    def verify(self) -> Verdict:
        """Reconcile and the applied change ids, read while the worker runs."""
        done = subprocess.run(
            [sys.executable, "-c", VERIFY], env=self.env, capture_output=True,
            text=True, timeout=120, cwd=REPO,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        found = json.loads(done.stdout.strip().splitlines()[-1])
        drift = int(found["reconcile"].rsplit("drift rows:", 1)[1].split()[0])
        return Verdict(drift, found["applied"], found["reconcile"])

    # -- legacy writes (the legacy app) --------------------------------------------------------

    def legacy_insert(self, count: int, rng: random.Random, **values) -> list[int]:
        keys = list(range(self.next_key, self.next_key + count))
        self.next_key += count
        rows = [
            appointment_row(
                key,
                PAT_ID=rng.randint(1, 3),
                APPT_TM=f"{rng.randint(8, 16):02d}{rng.choice((0, 15, 30, 45)):02d}",
                UPD_TS=self.stamp(rng),
                **values,
            )
            for key in keys
        ]
        with self.legacy.begin() as conn:
            conn.execute(insert(ApptSched.__table__), rows)  # type: ignore[arg-type]
        return keys

    def legacy_keys(self) -> list[int]:
        with self.legacy.connect() as conn:
            return list(
                conn.execute(select(ApptSched.APPT_ID).order_by(ApptSched.APPT_ID)).scalars()
            )

    def legacy_churn(self, rng: random.Random, operations: int) -> None:
        """Random updates (with newer versions), deletes and inserts, one transaction each."""
        for _ in range(operations):
            keys = self.legacy_keys()
            roll = rng.random()
            if roll < 0.15 or not keys:
                self.legacy_insert(1, rng)
                continue
            key = rng.choice(keys)
            with self.legacy.begin() as conn:
                if roll < 0.25:
                    conn.execute(delete(ApptSched).where(ApptSched.APPT_ID == key))
                else:
                    conn.execute(
                        update(ApptSched)
                        .where(ApptSched.APPT_ID == key)
                        .values(
                            STATUS_CD=rng.choice("BCNA"),
                            DUR_MIN=rng.choice((15, 20, 30)),
                            UPD_TS=self.stamp(rng),
                        )
                    )

    def stamp(self, rng: random.Random) -> str:
        """Versions move forward like a clock, with many edits sharing a second."""
        self._clock = getattr(self, "_clock", 1_000) + rng.randint(0, 1)
        seconds = self._clock
        return f"20261121{8 + seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}"

    # -- service writes (the service's own transaction, with its outbox row) -------------------

    def service_edit(self, key: int, rng: random.Random) -> None:
        version = datetime.strptime(self.stamp(rng), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        now = datetime.now(UTC)
        with self.service.begin() as conn:
            changed = conn.execute(
                text(
                    "UPDATE appointments_appointment SET reason = :reason, "
                    "duration_minutes = :dur, source_updated_at = :version WHERE id = :key"
                ),
                {
                    "reason": f"SERVICE EDIT {rng.randint(1, 999)}",
                    "dur": rng.choice((25, 35, 45)),
                    "version": version.strftime("%Y-%m-%d %H:%M:%S"),  # as Django stores it
                    "key": key,
                },
            ).rowcount
            if changed:
                conn.execute(
                    text(
                        "INSERT INTO ficus_outbox (aggregate, key, operation, request_id, "
                        "created_at, processed_at, attempts, last_error) VALUES "
                        "('appointment', :key, 'upsert', '', :now, NULL, 0, '')"
                    ),
                    {"key": str(key), "now": now.strftime("%Y-%m-%d %H:%M:%S.%f")},
                )

    def echo_ids(self) -> set[int]:
        with self.legacy.connect() as conn:
            return set(
                conn.execute(text("SELECT id FROM ficus_change WHERE origin = 'ficus'")).scalars()
            )

    def pending_changes(self) -> int:
        with self.legacy.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT COUNT(*) FROM ficus_change WHERE done_at_us IS NULL "
                        "AND tbl = 'APPT_SCHED'"
                    )
                ).scalar_one()
            )


def build_template(directory: Path) -> Path:
    """Migrated service and control-plane databases, copied into each rig."""
    rig_env = {k: v for k, v in os.environ.items() if not k.startswith(("FICUS_", "DJANGO_"))}
    rig_env.update(
        FICUS_VAR_DIR=str(directory),
        FICUS_SERVICE="appointments",
        FICUS_DB_DEFAULT_URL=f"sqlite:///{directory / 'control.sqlite3'}",
        FICUS_DB_APPOINTMENTS_URL=f"sqlite:///{directory / 'appointments.sqlite3'}",
        DJANGO_SETTINGS_MODULE="extracted.settings",
    )
    for alias in ("default", "appointments"):
        done = subprocess.run(
            [sys.executable, MANAGE, "migrate", "--database", alias, "-v", "0"],
            env=rig_env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    return directory


def django_url(url: str) -> str:
    """A SQLAlchemy URL as Django's dj-database-url wants it (no `+driver`)."""
    parsed = make_url(url)
    return parsed.set(drivername=parsed.get_backend_name()).render_as_string(hide_password=False)


def migrate_service(rig: Rig) -> None:
    done = subprocess.run(
        [sys.executable, MANAGE, "migrate", "--database", "appointments", "-v", "0"],
        env=rig.env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
