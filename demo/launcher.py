"""Starts the whole demo stack as real processes, and stops every one of them cleanly.

One `Stack` is the legacy monolith, a service for each feature of the registry
(migration_plans/feature_registry.py), the control plane, the routing proxy and the sync
worker, each its own OS process in its own process group, logging to `<var>/log/`. `make demo`
runs it on the fixed demo ports; the end-to-end tests run the very same stack on free loopback
ports in a temporary directory, so the demo and the tests cannot drift apart.

The launcher knows Ficus only by its command lines and the list of features: it imports nothing
from Ficus but the (pure) feature registry.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from demo import prometheus as prometheus_setup
from demo import secrets as demo_secrets
from migration_plans.feature_registry import features

REPO_ROOT = Path(__file__).resolve().parent.parent
MANAGE = str(REPO_ROOT / "manage.py")


class StackError(RuntimeError):
    """A step or a process of the stack failed; the message says which and where its log is."""


@dataclass(frozen=True)
class Ports:
    proxy: int = 8000
    legacy: int = 8001
    control: int = 8100
    # Prometheus /metrics of the proxy and the sync worker (the services serve theirs on their
    # own port, /__ficus/metrics), and the demo's Prometheus server.
    proxy_metrics: int = 9180
    sync_metrics: int = 9181
    prometheus: int = 9190
    # Each feature's service: the port of its plan's upstream unless given.
    services: Mapping[str, int] = field(
        default_factory=lambda: {feature.name: feature.default_port for feature in features()}
    )

    def service(self, name: str) -> int:
        return self.services[name]


@dataclass(frozen=True)
class StackConfig:
    var_dir: Path
    ports: Ports = Ports()
    host: str = "127.0.0.1"
    seed: int = 42
    # More options for the sample monolith's seed (`python -m demo.legacy init-db --help`: how
    # many people, appointments and providers); its own defaults otherwise.
    legacy_seed_args: tuple[str, ...] = ()
    anchor: str | None = None  # YYYYMMDD; None seeds around today
    sync_interval_seconds: float = 0.5
    extra_env: Mapping[str, str] = field(default_factory=dict)
    # Debian's Prometheus server, started when the binary is there (None: never).
    prometheus: Path | None = prometheus_setup.BINARY
    scrape_interval: str = "5s"

    @property
    def runs_prometheus(self) -> bool:
        return self.prometheus is not None and self.prometheus.exists()

    @property
    def prometheus_url(self) -> str:
        return self.url(self.ports.prometheus)

    def url(self, port: int) -> str:
        return f"http://{self.host}:{port}"

    @property
    def proxy_url(self) -> str:
        return self.url(self.ports.proxy)

    @property
    def log_dir(self) -> Path:
        return self.var_dir / "log"

    @property
    def access_log(self) -> Path:
        return self.log_dir / "proxy-access.log"

    @property
    def legacy_database_url(self) -> str:
        return f"sqlite:///{self.var_dir / 'legacy.sqlite3'}"


@dataclass
class _Running:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self._running: list[_Running] = []
        base = dict(os.environ)
        base.update(config.extra_env)
        var = config.var_dir.resolve()
        self.env: dict[str, str] = {
            **base,
            "PYTHONUNBUFFERED": "1",
            "FICUS_VAR_DIR": str(var),
            "LEGACY_DATABASE_URL": config.legacy_database_url,
            "FICUS_DB_DEFAULT_URL": f"sqlite:///{var / 'control.sqlite3'}",
            **{
                feature.database_url_env: f"sqlite:///{var / f'{feature.database_alias}.sqlite3'}"
                for feature in features()
            },
            "FICUS_IDENTITY_KEY": demo_secrets.identity_key(base),
            **{
                feature.upstream_env: config.url(config.ports.service(feature.name))
                for feature in features()
            },
            # The proxy routes /control/v1/ here (proxy.live_plans).
            "FICUS_CONTROL_URL": config.url(config.ports.control),
        }
        # The caller's settings win: e.g. a feature's upstream moved in front of its service.
        self.env.update(config.extra_env)
        if not self.env.get("FICUS_PHI_KEY"):
            self.env["FICUS_PHI_KEY"] = demo_secrets.kept_secret(
                var, "phi.key", demo_secrets.fernet_key
            )
        if not self.env.get("FICUS_EVIDENCE_KEY"):
            # Kept: the same value gets the same surrogate in every run's samples.
            self.env["FICUS_EVIDENCE_KEY"] = demo_secrets.kept_secret(
                var, "evidence.key", lambda: secrets.token_hex(32)
            )
        if not self.env.get("FICUS_AUDIT_KEY"):
            self.env["FICUS_AUDIT_KEY"] = demo_secrets.kept_secret(
                var, "audit.key", lambda: secrets.token_urlsafe(48)
            )

    # -- preparing the databases -------------------------------------------------------------

    def prepare(self) -> None:
        """Seed the legacy DB once, migrate Ficus's DBs, and copy the legacy appointments over."""
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        if not (self.config.var_dir / "legacy.sqlite3").exists():
            seed_args = ["--seed", str(self.config.seed), *self.config.legacy_seed_args]
            if self.config.anchor:
                seed_args += ["--anchor", self.config.anchor]
            self._step(
                "seed the legacy database",
                [sys.executable, "-m", "demo.legacy", "init-db", *seed_args],
            )
        for alias in ("default", *(feature.database_alias for feature in features())):
            self._step(
                f"migrate the {alias} database",
                [sys.executable, MANAGE, "migrate", "--database", alias, "--no-input", "-v", "0"],
            )
        # Capture first (triggers on the owned legacy tables), then the copy: a change made
        # while the copy runs is queued by the triggers, and version guards make overlap harmless.
        self._step("install change capture", [sys.executable, MANAGE, "sync", "install"])
        for feature in features():
            self._step(
                f"copy legacy {feature.name} to the service",
                [sys.executable, MANAGE, "sync", "backfill", feature.name],
            )
        # Registers every plan route in the control plane (a recorded transition from the plan
        # file), so the first `plan status` an operator runs already has its history.
        self._step("register plan routes", [sys.executable, MANAGE, "plan", "status"])
        for login, role in (("operator", "operator"), ("auditor", "auditor")):
            self._api_token(login, role)

    def token_path(self, login: str) -> Path:
        return self.config.var_dir / "secrets" / f"{login}.token"

    def _api_token(self, login: str, role: str) -> None:
        """A control-plane API token for a demo login, made once and kept under var/secrets/."""
        path = self.token_path(login)
        if path.exists():
            return
        argv = [sys.executable, MANAGE, "controlplane", "token", "create"]
        argv += ["--user", login, "--role", role, "--actor", "demo"]
        result = subprocess.run(
            argv, cwd=REPO_ROOT, env=self.env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise StackError(f"could not create the {role} API token: {result.stderr.strip()}")
        # "token for operator (operator): <key>" is its first line.
        token = result.stdout.splitlines()[0].rsplit(" ", 1)[-1]
        demo_secrets.kept_secret(self.config.var_dir, path.name, lambda: token)

    def _step(self, what: str, argv: Sequence[str]) -> None:
        log_path = self.config.log_dir / "setup.log"
        with log_path.open("ab") as log:
            log.write(f"$ {' '.join(argv)}\n".encode())
            log.flush()
            result = subprocess.run(
                argv, cwd=REPO_ROOT, env=self.env, stdout=log, stderr=log, check=False
            )
        if result.returncode != 0:
            raise StackError(f"could not {what} (exit {result.returncode}); see {log_path}")

    # -- running the processes ---------------------------------------------------------------

    def commands(self) -> list[tuple[str, list[str], str]]:
        """(name, argv, health URL or '') for every long-running process, in start order."""
        cfg, py, host = self.config, sys.executable, self.config.host
        ports = cfg.ports
        return [
            (
                "control",
                [py, MANAGE, "runservice", "control", "--host", host, "--port", str(ports.control)],
                cfg.url(ports.control) + "/__ficus/health",
            ),
            (
                "legacy",
                [py, "-m", "demo.legacy", "serve", "--host", host, "--port", str(ports.legacy)],
                cfg.url(ports.legacy) + "/login",
            ),
            *(
                (
                    feature.name,
                    [
                        py,
                        MANAGE,
                        "runservice",
                        feature.name,
                        "--host",
                        host,
                        "--port",
                        str(ports.service(feature.name)),
                    ],
                    cfg.url(ports.service(feature.name)) + "/__ficus/health",
                )
                for feature in features()
            ),
            (
                "proxy",
                [
                    py,
                    MANAGE,
                    "runproxy",
                    "--host",
                    host,
                    "--port",
                    str(ports.proxy),
                    "--legacy",
                    cfg.url(ports.legacy),
                    "--access-log",
                    str(cfg.access_log),
                    "--metrics-port",
                    str(ports.proxy_metrics),
                ],
                cfg.proxy_url + "/login",
            ),
            (
                "sync",
                [
                    py,
                    MANAGE,
                    "sync",
                    "run",
                    # Both directions, always: ownership decides what happens to each change.
                    "--interval",
                    str(cfg.sync_interval_seconds),
                    "--metrics-port",
                    str(ports.sync_metrics),
                ],
                "",
            ),
            *self._prometheus_command(),
        ]

    def scrape_targets(self) -> list[prometheus_setup.Target]:
        """Every /metrics of the stack: proxy, sync worker, control plane and services."""
        cfg, ports = self.config, self.config.ports
        services = [("control", ports.control)] + [
            (feature.name, ports.service(feature.name)) for feature in features()
        ]
        return [
            prometheus_setup.Target("proxy", f"{cfg.host}:{ports.proxy_metrics}"),
            prometheus_setup.Target("sync", f"{cfg.host}:{ports.sync_metrics}"),
            *(
                prometheus_setup.Target(name, f"{cfg.host}:{port}", "/__ficus/metrics")
                for name, port in services
            ),
        ]

    def _prometheus_command(self) -> list[tuple[str, list[str], str]]:
        cfg = self.config
        if not cfg.runs_prometheus or cfg.prometheus is None:
            return []
        home = cfg.var_dir.resolve() / "prometheus"
        config = home / "prometheus.yml"
        listen = f"{cfg.host}:{cfg.ports.prometheus}"
        argv = prometheus_setup.command(cfg.prometheus, config, home / "data", listen)
        return [("prometheus", argv, cfg.prometheus_url + "/-/ready")]

    def _write_prometheus_config(self) -> None:
        home = self.config.var_dir.resolve() / "prometheus"
        home.mkdir(parents=True, exist_ok=True)
        text = prometheus_setup.config_text(
            self.scrape_targets(), interval=self.config.scrape_interval
        )
        (home / "prometheus.yml").write_text(text)

    def start(self, *, timeout: float = 60.0) -> None:
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        if self.config.runs_prometheus:
            self._write_prometheus_config()
        try:
            for name, argv, health_url in self.commands():
                log_path = self.config.log_dir / f"{name}.log"
                log = log_path.open("ab")
                process = subprocess.Popen(
                    argv,
                    cwd=REPO_ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group, so a stop reaches its workers
                )
                log.close()
                self._running.append(_Running(name, process, log_path))
                if health_url:
                    self._wait_healthy(self._running[-1], health_url, timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, running: _Running, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if running.process.poll() is not None:
                raise StackError(
                    f"{running.name} exited with {running.process.returncode} while starting; "
                    f"see {running.log_path}"
                )
            try:
                # S310: the URL is built here from the configured host and port, always http.
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise StackError(
            f"{running.name} did not answer {url} within {timeout:.0f}s; see {running.log_path}"
        )

    def check_alive(self) -> None:
        for running in self._running:
            if running.process.poll() is not None:
                raise StackError(
                    f"{running.name} stopped unexpectedly (exit {running.process.returncode}); "
                    f"see {running.log_path}"
                )

    def signal(self, name: str, signum: int) -> None:
        """Send a signal to one process group (tests pause the sync worker with SIGSTOP)."""
        for running in self._running:
            if running.name == name:
                _signal_group(running.process, signum)
                return
        raise StackError(f"no running process named {name!r}")

    def manage(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run `manage.py ARGS` against this stack's databases, as an operator would."""
        return subprocess.run(
            [sys.executable, MANAGE, *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def stop(self, *, grace_seconds: float = 10.0) -> list[tuple[str, int]]:
        """SIGTERM every process group (newest first), SIGKILL what outlives the grace period."""
        for running in reversed(self._running):
            _signal_group(running.process, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        exits: list[tuple[str, int]] = []
        for running in reversed(self._running):
            try:
                code = running.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(running.process, signal.SIGKILL)
                code = running.process.wait()
            exits.append((running.name, code))
        self._running.clear()
        return exits


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(process.pid, signum)
