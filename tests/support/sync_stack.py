"""A real sync stack for the tests of ownership moves: databases, a service, a sync worker.

Everything runs as production runs it: the legacy database (SQLite, or a fresh PostgreSQL or
MariaDB database), the control plane's and the services' databases, the service under
`manage.py runservice` on a loopback port, the sync worker under `manage.py sync run` (both
directions, never drained by the test), and the operator's `manage.py plan advance|rollback`.
The legacy side is written with SQL, as the legacy app and its other modules write it (their
own transactions, no origin marker); the service side through the service's HTTP faces, with
the signed identity the proxy would send. Checks read the databases while the worker runs.

`SyncStack.worker(crash=...)` starts the worker with `FICUS_SYNC_CRASH_AT` (it SIGKILLs itself
at that point), and `supervise()` starts it again when it died, as systemd would.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import Engine, create_engine, insert, select, text, update

from domain.identity import binding_for_target
from legacy_adapter import migrations
from legacy_adapter.schema import ApptSched, PatientMaster
from proxy.control_plane import sqlalchemy_url
from tests.extracted.identities import KEY, dry_run_header, headers_for
from tests.legacy_adapter.legacy_db import add_patient, appointment_row, create_legacy_schema
from tests.support.ports import LOOPBACK, free_port, wait_for_port

REPO = Path(__file__).resolve().parents[2]
MANAGE = str(REPO / "manage.py")
WAIT_S = 60.0
PHI_KEY = Fernet.generate_key().decode()
SERVICE_TABLES = {"appointments": "appointments_appointment", "patients": "patients_patient"}


@lru_cache(maxsize=1)
def _template_dir() -> Path:
    """Every Ficus database of the stack, migrated once per process (SQLite files)."""
    directory = Path(tempfile.mkdtemp(prefix="ficus-sync-template-"))
    atexit.register(shutil.rmtree, directory, True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FICUS_", "DJANGO_"))}
    env.update(
        FICUS_VAR_DIR=str(directory),
        FICUS_DB_DEFAULT_URL=f"sqlite:///{directory / 'default.sqlite3'}",
        FICUS_PHI_KEY=PHI_KEY,
        DJANGO_SETTINGS_MODULE="extracted.settings",
    )
    for name in ("default", *SERVICE_TABLES):
        if name != "default":
            env[f"FICUS_DB_{name.upper()}_URL"] = f"sqlite:///{directory / f'{name}.sqlite3'}"
    for name in ("default", *SERVICE_TABLES):
        done = subprocess.run(
            [sys.executable, MANAGE, "migrate", "--database", name, "-v", "0"],
            env=env, capture_output=True, text=True, timeout=300, cwd=REPO,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    return directory


def now_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S")


def eventually(what: str, check: Callable[[], Any], timeout: float = WAIT_S) -> Any:
    """Poll `check` until it returns something true (a bounded wait, not a timing check)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


@dataclass
class Answer:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)


class SyncStack:
    def __init__(
        self,
        directory: Path,
        *,
        features: tuple[str, ...] = ("appointments",),
        legacy_url: str | None = None,
        service_urls: dict[str, str] | None = None,
        plans_dir: Path | None = None,
    ) -> None:
        self.dir = directory
        self.features = features
        self.legacy_url = legacy_url or f"sqlite:///{directory / 'legacy.sqlite3'}"
        urls = {name: f"sqlite:///{directory / f'{name}.sqlite3'}" for name in features}
        self.service_urls = {**urls, **(service_urls or {})}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FICUS_", "DJANGO_"))}
        env.update(
            FICUS_VAR_DIR=str(directory),
            FICUS_DB_DEFAULT_URL=f"sqlite:///{directory / 'control.sqlite3'}",
            LEGACY_DATABASE_URL=self.legacy_url,
            FICUS_IDENTITY_KEY=KEY,
            FICUS_PHI_KEY=PHI_KEY,
            FICUS_HOSPITAL_TZ="America/Chicago",
            FICUS_LOG_LEVEL="WARNING",
            DJANGO_SETTINGS_MODULE="extracted.settings",
        )
        if plans_dir is not None:
            env["FICUS_PLANS_DIR"] = str(plans_dir)
        for name, url in self.service_urls.items():
            env[f"FICUS_DB_{name.upper()}_URL"] = url
        self.env = env
        self.legacy: Engine = create_engine(self.legacy_url, pool_pre_ping=True)
        self.services = {
            name: create_engine(sqlalchemy_url(url), pool_pre_ping=True)
            for name, url in self.service_urls.items()
        }
        self.urls: dict[str, str] = {}
        self._processes: list[subprocess.Popen[bytes]] = []
        self._worker: subprocess.Popen[bytes] | None = None
        self._worker_args: tuple[str, ...] = ()
        self._worker_log = directory / "worker.log"
        self.worker_starts = 0

    # -- set-up ---------------------------------------------------------------------------

    def prepare(self, *, patients: int = 3, appointments: int = 0) -> None:
        """The legacy schema with a few rows, every Ficus database migrated, capture installed
        and the service filled by the real backfill."""
        create_legacy_schema(self.legacy)
        with self.legacy.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO PROVIDER (PROV_ID, NAME, DEPT_CD) "
                    "VALUES (3, 'HOUSE, GREG MD', 'MED')"
                )
            )
            conn.execute(text("INSERT INTO LEGACY_SEQ (SEQ_NM, NEXT_VAL) VALUES ('APPT_ID', 1000)"))
        for pat in range(1, patients + 1):
            add_patient(self.legacy, pat, f"LAST{pat}", f"FIRST{pat}")
        if appointments:
            self.add_appointments(range(1, appointments + 1))
        self._migrated_databases()
        migrations.upgrade(self.legacy)  # what `sync install` does
        for name in self.features:
            self.manage_ok("sync", "backfill", name)

    def _migrated_databases(self) -> None:
        """The control plane's and the services' databases, migrated: copied from a template
        migrated once per test session (SQLite), else migrated here."""
        names = ["default", *self.features]
        urls = {"default": self.env["FICUS_DB_DEFAULT_URL"], **self.service_urls}
        template = _template_dir()
        for name in names:
            url = urls[name]
            if not url.startswith("sqlite:///"):
                self.manage_ok("migrate", "--database", name, "-v", "0")
                continue
            shutil.copyfile(template / f"{name}.sqlite3", url.removeprefix("sqlite:///"))

    def add_appointments(self, keys: range | list[int], **values: Any) -> None:
        rows = [
            appointment_row(
                key, PAT_ID=1 + key % 3, APPT_TM=f"{8 + key % 9:02d}{(key // 9) % 4 * 15:02d}",
                UPD_TS=now_stamp(), **values,
            )
            for key in keys
        ]  # fmt: skip
        with self.legacy.begin() as conn:
            conn.execute(insert(ApptSched.__table__), rows)  # type: ignore[arg-type]

    def close(self) -> None:
        self.stop_worker()
        for process in self._processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.legacy.dispose()
        for engine in self.services.values():
            engine.dispose()

    # -- processes ------------------------------------------------------------------------

    def manage(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, MANAGE, *args], env={**self.env, **env}, capture_output=True,
            text=True, timeout=300, cwd=REPO,
        )  # fmt: skip

    def manage_ok(self, *args: str, **env: str) -> str:
        done = self.manage(*args, **env)
        assert done.returncode == 0, (args, done.stdout, done.stderr[-3000:])
        return done.stdout

    def start_service(self, name: str) -> str:
        port = free_port()
        log = (self.dir / f"{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, MANAGE, "runservice", name, "--port", str(port), "--workers", "2"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
        )  # fmt: skip
        log.close()
        self._processes.append(process)
        wait_for_port(port, process=process, timeout=60)
        self.urls[name] = f"http://{LOOPBACK}:{port}"
        return self.urls[name]

    def start_worker(
        self, *args: str, crash: str | None = None, **env: str
    ) -> subprocess.Popen[bytes]:
        """`sync run` as production runs it: both directions, until stopped (`args` are more
        of its options, kept when `supervise` starts it again)."""
        self.stop_worker()
        self._worker_args = args
        extra = {**env, **({"FICUS_SYNC_CRASH_AT": crash} if crash else {})}
        features = [part for name in self.features for part in ("--feature", name)]
        log = self._worker_log.open("ab")
        self._worker = subprocess.Popen(
            [sys.executable, MANAGE, "sync", "run", "--interval", "0.05", *features, *args],
            env={**self.env, **extra}, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
        )  # fmt: skip
        log.close()
        self.worker_starts += 1
        return self._worker

    def wait_ready(self) -> None:
        """Until the worker has run its loop once (it reports to `ficus_sync_report`)."""
        started = time.time_ns() // 1000
        eventually(
            "the worker runs",
            lambda: self.supervise() or self.legacy_sql(
                "SELECT COUNT(*) FROM ficus_sync_report WHERE reported_at_us > :t", t=started
            )[0][0],
        )  # fmt: skip

    def supervise(self) -> bool:
        """Start the worker again if it died (a SIGKILL at a crash point); True if it had."""
        if self._worker is not None and self._worker.poll() is not None:
            assert self._worker.returncode in (0, -signal.SIGKILL), self.worker_log()
            self.start_worker(*self._worker_args)
            return True
        return False

    def stop_worker(self) -> None:
        worker, self._worker = self._worker, None
        if worker is None or worker.poll() is not None:
            return
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        assert worker.returncode == 0, self.worker_log()

    @contextmanager
    def worker_paused(self) -> Iterator[None]:
        """The worker stopped with SIGSTOP (a stall: it holds what it holds), then resumed."""
        assert self._worker is not None
        self._worker.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            self._worker.send_signal(signal.SIGCONT)

    def worker_log(self) -> str:
        return self._worker_log.read_text() if self._worker_log.exists() else ""

    # -- the operator ---------------------------------------------------------------------

    def plan(self, action: str, *args: str, force: bool = True) -> str:
        forced = ("--force",) if force else ()
        return self.manage_ok("plan", action, *args, *forced, "--reason", f"test {action}")

    def advance(self, feature: str, *steps: str, weight: int | None = None) -> None:
        """Advance `feature` one phase per step (each step names the phase it reaches, for the
        reader), forced past the gates; the canary step takes `weight`. Routes already ahead
        (the plan starts the detail read in migrated) stay where they are."""
        for step in steps:
            weighted = ("--weight", str(weight)) if step == "canary" and weight else ()
            out = self.plan("advance", feature, *weighted)
            assert f"-> {step}" in out, out

    def rollback(self, feature: str, to: str, *, force: bool = True) -> str:
        return self.plan("rollback", feature, "--to", to, force=force)

    # -- the service's faces --------------------------------------------------------------

    def ask(
        self,
        name: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        persona: str = "scheduler",
        dry_run: bool = False,
    ) -> Answer:
        """A request to the service as the proxy sends it: the persona's signed identity, and
        with `dry_run` the signed dry-run header of a shadowed write."""
        data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        rid = f"rid-{time.time_ns()}"
        identity = headers_for(persona, request_id=rid, method=method, target=path)
        headers = {**identity, "Content-Type": "application/json"}
        if dry_run:
            binding = binding_for_target(method, path.encode("ascii"))
            headers.update(dry_run_header(rid, expires_in=60, binding=binding))
        request = urllib.request.Request(
            self.urls[name] + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, response.read(), dict(response.headers))
        except urllib.error.HTTPError as e:
            return Answer(e.code, e.read(), dict(e.headers))

    def reschedule(self, key: int, reason: str) -> Answer:
        """The legacy face's PUT: same slot, a new reason (what the tests track)."""
        row = self.legacy_appointment(key) or {}
        return self.ask(
            "appointments", "PUT", f"/api/appointments/{key}",
            {"APPT_DT": row.get("APPT_DT", "20261121"), "APPT_TM": row.get("APPT_TM", "0930"),
             "REASON_TXT": reason},
        )  # fmt: skip

    def cancel(self, key: int) -> Answer:
        return self.ask("appointments", "POST", f"/api/appointments/{key}/cancel")

    # -- the legacy side ------------------------------------------------------------------

    def legacy_edit(self, key: int, **values: Any) -> None:
        """A legacy write (the legacy app, a batch job, an interface engine): its own
        transaction, UPD_TS by its own clock."""
        with self.legacy.begin() as conn:
            conn.execute(
                update(ApptSched)
                .where(ApptSched.APPT_ID == key)
                .values(UPD_TS=now_stamp(), **values)
            )

    def legacy_patient_edit(self, pat_id: int, **values: Any) -> None:
        with self.legacy.begin() as conn:
            conn.execute(
                update(PatientMaster).where(PatientMaster.PAT_ID == pat_id)
                .values(UPD_TS=now_stamp(), **values)
            )  # fmt: skip

    def legacy_appointment(self, key: int) -> dict[str, Any]:
        """The legacy row, or {} when there is none."""
        with self.legacy.connect() as conn:
            row = conn.execute(select(ApptSched).where(ApptSched.APPT_ID == key)).mappings().first()
        return dict(row) if row is not None else {}

    def legacy_patient(self, pat_id: int) -> dict[str, Any]:
        """The legacy row, or {} when there is none."""
        with self.legacy.connect() as conn:
            row = (
                conn.execute(select(PatientMaster).where(PatientMaster.PAT_ID == pat_id))
                .mappings().first()
            )  # fmt: skip
        return dict(row) if row is not None else {}

    def find_service_row(self, name: str, key: int) -> dict[str, Any] | None:
        table = SERVICE_TABLES[name]
        with self.services[name].connect() as conn:
            row = (
                conn.execute(
                    text(f"SELECT * FROM {table} WHERE id = :k"),
                    {"k": key},
                )
                .mappings()
                .first()
            )
        return dict(row) if row is not None else None

    def service_row(self, name: str, key: int) -> dict[str, Any]:
        row = self.find_service_row(name, key)
        assert row is not None, f"{name} has no row {key}"
        return row

    def service_sql(self, name: str, statement: str, **params: Any) -> list[Any]:
        with self.services[name].begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []

    def legacy_sql(self, statement: str, **params: Any) -> list[Any]:
        with self.legacy.begin() as conn:
            result = conn.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []

    # -- what sync has done ---------------------------------------------------------------

    def pending_changes(self) -> int:
        return int(
            self.legacy_sql("SELECT COUNT(*) FROM ficus_change WHERE done_at_us IS NULL")[0][0]
        )

    def pending_outbox(self, name: str = "appointments") -> int:
        pending = "SELECT COUNT(*) FROM ficus_outbox WHERE processed_at IS NULL"
        return int(self.service_sql(name, pending)[0][0])

    def drained(self) -> bool:
        """Nothing on its way in either direction (read from the databases)."""
        self.supervise()
        return self.pending_changes() == 0 and all(
            self.pending_outbox(name) == 0 for name in self.features
        )

    def wait_drained(self, timeout: float = WAIT_S) -> None:
        eventually("sync has applied everything", self.drained, timeout)

    def dead_letters(self) -> list[Any]:
        return self.legacy_sql(
            "SELECT feature, direction, tbl, pk, reason FROM ficus_dead_letter "
            "WHERE resolved_at_us IS NULL"
        )

    def conflicts(self) -> list[Any]:
        return self.legacy_sql(
            "SELECT pk, kind, winner, loser, rule FROM ficus_conflict ORDER BY id"
        )

    def applied_ids(self, name: str = "appointments") -> list[int]:
        return [
            row[0] for row in self.service_sql(name, "SELECT change_id FROM ficus_applied_change")
        ]

    def echo_ids(self) -> set[int]:
        return {
            row[0] for row in self.legacy_sql("SELECT id FROM ficus_change WHERE origin = 'ficus'")
        }

    def reconcile(self, name: str = "appointments", *args: str) -> str:
        return self.manage_ok("sync", "reconcile", name, *args)

    def drift(self, name: str = "appointments") -> int:
        out = self.reconcile(name)
        return int(out.rsplit("drift rows:", 1)[1].split()[0])
