"""What shadowing costs the client: the primary path on a `shadow` route against `legacy`.

Issue 14's budget: shadowing and comparison add at most 5 % to the primary path's p99. One run
measures `GET /api/appointments/{id}` with a clinician's session through `manage.py runproxy`
(one worker, pinned to CPU 1) in four set-ups, in turn and `rounds` times (medians kept):

- `legacy phase`: the route in `legacy`, nothing shadowed (the baseline);
- `shadow, service fast`: the route in `shadow`, every read copied to the service, its answer
  compared off the response path, noise asks of legacy, tallies flushed to the control plane;
- `shadow, service slow`: the same, the service answering `SLOW_MS` late;
- `shadow, service down`: the same, nothing listening where the service should be.

Legacy and the fast service are bench/backend.py (a fixed JSON answer), so the difference is
the proxy's shadow work. Each proxy has a migrated control-plane database (SQLite) with the
route registered in its phase, as deployed: the evidence recorder needs one.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.processes import REPO_ROOT, free_port, running
from bench.proxy_throughput import SESSION_ID, _legacy_db_with_a_session, _median
from bench.wrk import LoadResult, run_wrk
from migration_plans.feature_registry import features

PROXY_CPU = "1"
LOAD_CPU = 0
SLOW_MS = 200
PATH = "/api/appointments/1"
SHIPPED_ROUTE = "    path: /api/appointments/{id:int}\n    phase: migrated"
TARGET_RATIO = 1.05


@dataclass(frozen=True)
class ShadowRun:
    name: str
    throughput: LoadResult
    single_connection: LoadResult


def _plans(directory: Path, phase: str) -> Path:
    directory.mkdir(parents=True)
    for plan in (REPO_ROOT / "migration_plans" / "plans").glob("*.yaml"):
        shutil.copy(plan, directory / plan.name)
    path = directory / "appointments.yaml"
    text = path.read_text()
    assert SHIPPED_ROUTE in text, "the shipped appointments plan moved its read route"
    path.write_text(text.replace(SHIPPED_ROUTE, SHIPPED_ROUTE.replace("migrated", phase)))
    return directory


def _control_plane(tmp: Path, phase: str) -> dict[str, str]:
    """A migrated control-plane database whose appointment read is in `phase`."""
    env = {
        "FICUS_VAR_DIR": str(tmp),
        "FICUS_DB_DEFAULT_URL": f"sqlite:///{tmp / f'control-{phase}.sqlite3'}",
        "FICUS_PLANS_DIR": str(_plans(tmp / f"plans-{phase}", phase)),
        "FICUS_EVIDENCE_KEY": secrets.token_hex(32),
    }
    manage = [sys.executable, str(REPO_ROOT / "manage.py")]
    for args in (["migrate", "--database", "default"], ["plan", "status"]):
        subprocess.run(
            [*manage, *args],
            cwd=REPO_ROOT,
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
    return env


@contextmanager
def _backend(port: int, delay_ms: float = 0.0) -> Iterator[str]:
    argv = [sys.executable, "-m", "bench.backend", "--port", str(port)]
    with running([*argv, "--delay-ms", str(delay_ms)], port=port, cpu=LOAD_CPU):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def _proxy(
    tmp: Path, name: str, legacy: str, service: str, legacy_db: str, control: dict[str, str]
) -> Iterator[str]:
    port = free_port()
    runproxy = [
        sys.executable,
        str(REPO_ROOT / "manage.py"),
        "runproxy",
        *("--host", "127.0.0.1", "--port", str(port), "--legacy", legacy),
        *("--legacy-db", legacy_db, "--access-log", str(tmp / f"access-{name}.log")),
    ]
    env = {
        **control,
        **{feature.upstream_env: service for feature in features()},
        "FICUS_IDENTITY_KEY": secrets.token_urlsafe(48),
    }
    with running(runproxy, port=port, cpu=PROXY_CPU, env=env):
        time.sleep(2.0)  # the plans and the control plane's phases are loaded
        yield f"http://127.0.0.1:{port}{PATH}"


def run(*, seconds: float, connections: int, rounds: int = 3) -> list[ShadowRun]:
    with tempfile.TemporaryDirectory(prefix="ficus-bench-shadow-") as name, ExitStack() as stack:
        tmp = Path(name)
        legacy_db = _legacy_db_with_a_session(tmp)
        legacy = stack.enter_context(_backend(free_port()))
        fast = stack.enter_context(_backend(free_port()))
        slow = stack.enter_context(_backend(free_port(), SLOW_MS))
        down = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        in_legacy, in_shadow = _control_plane(tmp, "legacy"), _control_plane(tmp, "shadow")
        setups = [
            ("legacy phase", fast, in_legacy),
            ("shadow, service fast", fast, in_shadow),
            (f"shadow, service slow ({SLOW_MS} ms)", slow, in_shadow),
            ("shadow, service down", down, in_shadow),
        ]
        targets = [
            (label, stack.enter_context(_proxy(tmp, str(i), legacy, service, legacy_db, env)))
            for i, (label, service, env) in enumerate(setups)
        ]
        cookie = {"Cookie": f"SESSID={SESSION_ID}"}
        loads: dict[str, list[tuple[LoadResult, LoadResult]]] = {t: [] for t, _ in targets}
        for round_number in range(1, rounds + 1):
            for label, url in targets:
                many = run_wrk(
                    url, connections=connections, seconds=seconds, cpu=LOAD_CPU, headers=cookie
                )
                one = run_wrk(url, connections=1, seconds=seconds, cpu=LOAD_CPU, headers=cookie)
                loads[label].append((many, one))
                print(
                    f"  round {round_number}/{rounds} {label}: "
                    f"{many.requests_per_second:.0f} req/s, p99 {many.p99_ms:.2f} ms",
                    file=sys.stderr,
                    flush=True,
                )
    return [
        ShadowRun(label, _median([m for m, _ in measured]), _median([o for _, o in measured]))
        for label, measured in loads.items()
    ]


def report(runs: list[ShadowRun], connections: int) -> list[str]:
    fmt = "{:<32} {:>10} {:>8} {:>8} {:>8} {:>7} {:>6}"
    lines = [
        "shadow overhead on the primary path (GET /api/appointments/{id}, 1 worker):",
        fmt.format(
            "route", f"req/s@{connections}", "p50 ms", "p99 ms", "req/s@1", "p99@1", "errors"
        ),
    ]
    for run in runs:
        t, one = run.throughput, run.single_connection
        lines.append(
            fmt.format(
                run.name,
                f"{t.requests_per_second:.0f}",
                f"{t.p50_ms:.2f}",
                f"{t.p99_ms:.2f}",
                f"{one.requests_per_second:.0f}",
                f"{one.p99_ms:.3f}",
                t.errors + one.errors,
            )
        )
    base = runs[0]
    for run in runs[1:]:
        at_many = run.throughput.p99_ms / base.throughput.p99_ms
        at_one = run.single_connection.p99_ms / base.single_connection.p99_ms
        rate = run.throughput.requests_per_second / base.throughput.requests_per_second
        lines.append(
            f"  {run.name} / legacy phase: p99 {at_many:.3f}x at {connections}, {at_one:.3f}x at 1"
            f" (target <= {TARGET_RATIO:.2f}x); throughput {rate:.3f}x"
        )
    return lines
