"""Starts the whole demo stack as real processes, and stops every one of them cleanly.

One `Stack` is the legacy monolith, the appointments service, the routing proxy and the forward
sync worker, each its own OS process in its own process group, logging to `<var>/log/`. `make
demo` runs it on the fixed demo ports; the end-to-end tests run the very same stack on free
loopback ports in a temporary directory, so the demo and the tests cannot drift apart.

The launcher knows Ficus only by its command lines: it imports nothing from Ficus.
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

REPO_ROOT = Path(__file__).resolve().parent.parent
MANAGE = str(REPO_ROOT / "manage.py")


class StackError(RuntimeError):
    """A step or a process of the stack failed; the message says which and where its log is."""


@dataclass(frozen=True)
class Ports:
    proxy: int = 8000
    legacy: int = 8001
    appointments: int = 8101


@dataclass(frozen=True)
class StackConfig:
    var_dir: Path
    ports: Ports = Ports()
    host: str = "127.0.0.1"
    seed: int = 42
    patients: int = 2000
    appointments: int = 20000
    anchor: str | None = None  # YYYYMMDD; None seeds around today
    sync_interval_seconds: float = 2.0
    extra_env: Mapping[str, str] = field(default_factory=dict)

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


def _identity_key(env: Mapping[str, str]) -> str:
    # A fresh key per run unless the operator supplies one: the demo never ships a secret.
    return env.get("FICUS_IDENTITY_KEY") or secrets.token_urlsafe(48)


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
            "FICUS_DB_APPOINTMENTS_URL": f"sqlite:///{var / 'appointments.sqlite3'}",
            "FICUS_IDENTITY_KEY": _identity_key(base),
            "FICUS_UPSTREAM_APPOINTMENTS": config.url(config.ports.appointments),
        }

    # -- preparing the databases -------------------------------------------------------------

    def prepare(self) -> None:
        """Seed the legacy DB once, migrate Ficus's DBs, and copy the legacy appointments over."""
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
        if not (self.config.var_dir / "legacy.sqlite3").exists():
            seed_args = [
                "--seed",
                str(self.config.seed),
                "--patients",
                str(self.config.patients),
                "--appointments",
                str(self.config.appointments),
            ]
            if self.config.anchor:
                seed_args += ["--anchor", self.config.anchor]
            self._step(
                "seed the legacy database",
                [sys.executable, "-m", "demo.legacy", "init-db", *seed_args],
            )
        for alias in ("default", "appointments"):
            self._step(
                f"migrate the {alias} database",
                [sys.executable, MANAGE, "migrate", "--database", alias, "--no-input", "-v", "0"],
            )
        self._step(
            "copy legacy appointments to the service",
            [sys.executable, MANAGE, "sync", "backfill", "appointments"],
        )

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
                "legacy",
                [py, "-m", "demo.legacy", "serve", "--host", host, "--port", str(ports.legacy)],
                cfg.url(ports.legacy) + "/login",
            ),
            (
                "appointments",
                [
                    py,
                    MANAGE,
                    "runservice",
                    "appointments",
                    "--host",
                    host,
                    "--port",
                    str(ports.appointments),
                ],
                cfg.url(ports.appointments) + "/__ficus/health",
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
                    "--feature",
                    "appointments",
                    "--direction",
                    "forward",
                    "--interval",
                    str(cfg.sync_interval_seconds),
                ],
                "",
            ),
        ]

    def start(self, *, timeout: float = 60.0) -> None:
        self.config.log_dir.mkdir(parents=True, exist_ok=True)
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
