"""Proxy throughput, latency and memory, side by side in one run.

The upstream is nginx answering `return 200` with a small JSON body (bench/nginx.py), so the
thing measured is the proxy. Measured, each with wrk at 1 and at `connections` connections:

- `direct`: wrk straight to the upstream;
- `stock mitmdump`: `mitmdump --mode reverse:UPSTREAM`, all its default addons;
- `Ficus 1w`: `manage.py runproxy` (guard, routing, headers, forwarder, access log), on an
  unmatched path (forwarded to the legacy upstream: the same work as stock mitmdump, plus
  Ficus's), and `Ficus 1w, migrated + identity` on `GET /api/appointments/{id}` with a
  clinician's session (routing plus the identity bridge's session lookup and signing), and
  the same JSON-RPC POST to a path without and with an RPC route (bench/rpc_case.py: the RPC
  matcher's cost per request);
- `Ficus 2w`: `runproxy --workers 2`, on the unmatched path;
- `Ficus 1w, metrics on` and `Ficus 2w, metrics on`: the same with `--metrics-port`, its
  `/metrics` scraped once a second during the whole run as Prometheus would (the issue's budget:
  metrics cost at most 3 % of the throughput, read against `Ficus 1w` / `Ficus 2w`);
- `nginx`: Debian's nginx as a keep-alive reverse proxy, one worker;
- `Ficus 1w, mitmproxy forwarding` and `Ficus 1w, httpx forwarding`: the same proxy with the
  forwarders of bench/forwarders.py, to compare who sends the request upstream.

CPU placement, on this 2-core machine: the one-process proxies (stock mitmdump, Ficus 1w, nginx)
are pinned to CPU 1 while wrk and the upstream share CPU 0, so "one core" means the same for
each; Ficus 2w may use both CPUs (it shares CPU 0 with wrk and the upstream, which take a few
percent at these rates). For each proxy the peak RSS of every worker process is read from /proc
after the load, and again after 1,000 idle keep-alive connections have been opened to it.

All proxies run at once (idle while another is measured) and are measured in turn, `rounds`
times; each figure is the median of its rounds, so that other work on the machine weighs on all
of them alike.
"""

from __future__ import annotations

import contextlib
import secrets
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, insert

from bench import nginx, rpc_case
from bench.processes import (
    REPO_ROOT,
    cpu_seconds,
    free_port,
    idle_keepalive_connections,
    memory_kib,
    running,
    worker_pids,
)
from bench.wrk import LoadResult, run_wrk
from legacy_adapter.schema import AppUser, LegacyBase, UserSession
from migration_plans.feature_registry import features

PROXY_CPU = "1"
BOTH_CPUS = "0,1"
LOAD_CPU = 0
IDLE_CONNECTIONS = 1000
SESSION_ID = "bench-session-" + "0" * 40
LEGACY_PATH = "/api/visits/1"  # in no plan: Ficus forwards it to the legacy upstream
MIGRATED_PATH = "/api/appointments/1"


@dataclass(frozen=True)
class Memory:
    workers: int
    peak_rss_mib: list[float]  # per worker, after the load
    idle_connections: int  # how many of IDLE_CONNECTIONS were open and answered
    peak_rss_idle_mib: list[float]  # per worker, with the idle connections open


@dataclass(frozen=True)
class ProxyRun:
    name: str
    throughput: LoadResult
    single_connection: LoadResult
    memory: Memory | None = field(default=None)
    # CPUs each worker kept busy during the load at many connections (median of the rounds):
    # 1.0 is a whole core. Shows whether a proxy was starved by other work on the machine.
    cpu_per_worker: list[float] | None = None


def _legacy_db_with_a_session(directory: Path) -> str:
    url = f"sqlite:///{directory / 'legacy.sqlite3'}"
    engine = create_engine(url)
    LegacyBase.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(AppUser).values(
                USER_ID=1,
                LOGIN_NM="clinician",
                PWD_HASH="x",
                FULL_NM="Bench Clinician",
                ROLE_CD="CLIN",
                PROV_ID=1,
                ACTIVE_FLG="Y",
            )
        )
        conn.execute(
            insert(UserSession).values(
                SESS_ID=SESSION_ID, USER_ID=1, ROLE_CD="CLIN", EXPIRES_TS="29991231235959"
            )
        )
    engine.dispose()
    return url


def _median(results: list[LoadResult]) -> LoadResult:
    return LoadResult(
        requests_per_second=statistics.median(r.requests_per_second for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        errors=sum(r.errors for r in results),
    )


def _memory(pid: int, port: int, path: str) -> Memory:
    pids = worker_pids(pid)
    after_load = [memory_kib(p)[1] / 1024 for p in pids]
    with idle_keepalive_connections(port, IDLE_CONNECTIONS, path) as alive:
        time.sleep(0.5)
        with_idle = [memory_kib(p)[1] / 1024 for p in pids]
    return Memory(len(pids), after_load, alive, with_idle)


def _wait_for_workers(pid: int, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(worker_pids(pid)) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(2.0)  # every worker has its socket open (the supervisor waits for them too)


@contextmanager
def _ficus(
    tmp_path: Path,
    backend: str,
    legacy_db: str,
    *,
    workers: int,
    cpu: str,
    forwarding: str = "ficus",
    metrics_port: int | None = None,
    plans: Path | None = None,
) -> Iterator[tuple[int, int]]:
    port = free_port()
    access_log = str(tmp_path / f"access-{workers}-{metrics_port or 'off'}-{forwarding}.log")
    runproxy = [
        sys.executable,
        str(REPO_ROOT / "manage.py"),
        "runproxy",
        *("--host", "127.0.0.1", "--port", str(port), "--legacy", backend),
        *("--legacy-db", legacy_db, "--access-log", access_log),
        *("--workers", str(workers)),
        *(("--metrics-port", str(metrics_port)) if metrics_port is not None else ()),
        *(("--plans", str(plans)) if plans is not None else ()),
    ]
    env = {
        **{feature.upstream_env: backend for feature in features()},
        "FICUS_IDENTITY_KEY": secrets.token_urlsafe(48),
        "FICUS_VAR_DIR": str(tmp_path),
    }
    if forwarding != "ficus":
        # The same proxy with another forwarder (bench/forwarders.py: not production code),
        # started as runproxy starts it, with runproxy's defaults.
        runproxy = [
            sys.executable,
            *("-m", "bench.forwarders", "--forwarding", forwarding),
            *("--host", "127.0.0.1", "--port", str(port), "--legacy", backend),
            *("--plans", str(REPO_ROOT / "migration_plans" / "plans")),
            *("--access-log", access_log, "--confdir", str(tmp_path / "mitmproxy")),
            *("--workers", str(workers)),
        ]
        env["LEGACY_DATABASE_URL"] = legacy_db
    with running(runproxy, port=port, cpu=cpu, env=env) as process:
        _wait_for_workers(process.pid, workers)
        yield port, process.pid


@contextmanager
def _scraped(url: str, *, every: float = 1.0) -> Iterator[None]:
    """Scrape `url` every `every` seconds from a thread, as Prometheus would, until the end."""
    stop = threading.Event()

    def scrape() -> None:
        while not stop.wait(every):
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=5) as answer:
                answer.read()

    thread = threading.Thread(target=scrape, name="bench-scraper", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


@dataclass(frozen=True)
class _Target:
    name: str
    url: str
    headers: dict[str, str] | None = None
    pid: int | None = None  # for the memory figures
    port: int | None = None
    script: str | None = None  # a wrk Lua script (the JSON-RPC POSTs)


def run(*, seconds: float, connections: int, rounds: int = 3) -> list[ProxyRun]:
    """Start every proxy, then measure them in turn `rounds` times and keep the medians.

    Interleaving the rounds, rather than measuring one proxy after another, spreads whatever
    else the machine does over all of them alike.
    """
    with tempfile.TemporaryDirectory(prefix="ficus-bench-") as tmp, ExitStack() as stack:
        tmp_path = Path(tmp)
        legacy_db = _legacy_db_with_a_session(tmp_path)
        upstream_port = free_port()
        backend = f"http://127.0.0.1:{upstream_port}"
        stack.enter_context(
            running(
                nginx.upstream_command(tmp_path / "nginx-upstream", upstream_port),
                port=upstream_port,
                cpu=LOAD_CPU,
            )
        )
        targets = [_Target("direct", f"{backend}{LEGACY_PATH}")]

        port = free_port()
        mitmdump = [
            str(Path(sys.executable).parent / "mitmdump"),
            "--quiet",
            *("--mode", f"reverse:{backend}"),
            *("--listen-host", "127.0.0.1", "--listen-port", str(port)),
            *("--set", f"confdir={tmp_path / 'mitmproxy'}"),
        ]
        process = stack.enter_context(running(mitmdump, port=port, cpu=PROXY_CPU))
        targets.append(
            _Target(
                "stock mitmdump", f"http://127.0.0.1:{port}{LEGACY_PATH}", None, process.pid, port
            )
        )

        shipped = REPO_ROOT / "migration_plans" / "plans"
        port, pid = stack.enter_context(
            _ficus(
                tmp_path,
                backend,
                legacy_db,
                workers=1,
                cpu=PROXY_CPU,
                plans=rpc_case.plans_with_rpc(shipped, tmp_path, backend),
            )
        )
        base = f"http://127.0.0.1:{port}"
        # The RPC matcher's cost: the same JSON-RPC POST, to a path with an RPC route or not.
        script = str(rpc_case.post_script(tmp_path))
        for name, path in (
            ("Ficus 1w, POST JSON, no RPC route", rpc_case.PLAIN_POST_PATH),
            ("Ficus 1w, POST JSON-RPC, matched", rpc_case.RPC_PATH),
        ):
            targets.append(_Target(name, f"{base}{path}", script=script))
        targets.append(_Target("Ficus 1w", f"{base}{LEGACY_PATH}", None, pid, port))
        targets.append(
            _Target(
                "Ficus 1w, migrated + identity",
                f"{base}{MIGRATED_PATH}",
                {"Cookie": f"SESSID={SESSION_ID}"},
            )
        )
        # Who sends upstream: Ficus's forwarder (above) against mitmproxy's own and httpx.
        for forwarding in ("mitmproxy", "httpx"):
            port, _pid = stack.enter_context(
                _ficus(
                    tmp_path, backend, legacy_db, workers=1, cpu=PROXY_CPU, forwarding=forwarding
                )
            )
            targets.append(
                _Target(
                    f"Ficus 1w, {forwarding} forwarding", f"http://127.0.0.1:{port}{LEGACY_PATH}"
                )
            )

        port, pid = stack.enter_context(
            _ficus(tmp_path, backend, legacy_db, workers=2, cpu=BOTH_CPUS)
        )
        targets.append(
            _Target("Ficus 2w", f"http://127.0.0.1:{port}{LEGACY_PATH}", None, pid, port)
        )

        # The same proxies with their metrics exported and scraped (the 3 % budget).
        for workers, cpu in ((1, PROXY_CPU), (2, BOTH_CPUS)):
            metrics_port = free_port()
            port, pid = stack.enter_context(
                _ficus(
                    tmp_path,
                    backend,
                    legacy_db,
                    workers=workers,
                    cpu=cpu,
                    metrics_port=metrics_port,
                )
            )
            stack.enter_context(_scraped(f"http://127.0.0.1:{metrics_port}/metrics"))
            targets.append(
                _Target(
                    f"Ficus {workers}w, metrics on",
                    f"http://127.0.0.1:{port}{LEGACY_PATH}",
                    None,
                    pid,
                    port,
                )
            )

        port = free_port()
        proxy = nginx.proxy_command(tmp_path / "nginx-proxy", port, upstream_port)
        process = stack.enter_context(running(proxy, port=port, cpu=PROXY_CPU))
        targets.append(
            _Target("nginx", f"http://127.0.0.1:{port}{LEGACY_PATH}", None, process.pid, port)
        )

        loads: dict[str, list[tuple[LoadResult, LoadResult]]] = {t.name: [] for t in targets}
        busy: dict[str, list[list[float]]] = {t.name: [] for t in targets}
        for round_number in range(1, rounds + 1):
            for target in targets:
                pids = worker_pids(target.pid) if target.pid is not None else []
                before = [cpu_seconds(p) for p in pids]
                started = time.monotonic()
                throughput = run_wrk(
                    target.url,
                    connections=connections,
                    seconds=seconds,
                    cpu=LOAD_CPU,
                    headers=target.headers,
                    script=target.script,
                )
                elapsed = time.monotonic() - started
                busy[target.name].append(
                    [(cpu_seconds(p) - b) / elapsed for p, b in zip(pids, before, strict=True)]
                )
                single = run_wrk(
                    target.url,
                    connections=1,
                    seconds=seconds,
                    cpu=LOAD_CPU,
                    headers=target.headers,
                    script=target.script,
                )
                loads[target.name].append((throughput, single))
                print(
                    f"  round {round_number}/{rounds} {target.name}: "
                    f"{throughput.requests_per_second:.0f} req/s",
                    file=sys.stderr,
                    flush=True,
                )
        results = []
        for target in targets:
            memory = None
            if target.pid is not None and target.port is not None:
                memory = _memory(target.pid, target.port, LEGACY_PATH)
            measured = loads[target.name]
            results.append(
                ProxyRun(
                    target.name,
                    _median([t for t, _ in measured]),
                    _median([one for _, one in measured]),
                    memory,
                    [statistics.median(r) for r in zip(*busy[target.name], strict=True)] or None,
                )
            )
    return results
