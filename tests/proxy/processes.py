"""Start `manage.py runproxy` as a real process for integration tests, and talk to it raw.

`running_proxy()` picks a free port, starts the proxy with its access log, mitmproxy confdir
and stderr under a temporary directory, waits until it listens, and stops it with SIGTERM.
`raw_exchange()` sends bytes exactly as given (for smuggling shapes and paths that HTTP clients
would normalize) and reads until the proxy closes the connection.

`recorder_fixtures()` is the world most raw-socket modules share: one proxy process in front of
one raw recording backend for the whole module (`world`), and a `w` per test that clears the
recorder first and gives `(proxy, backend)`.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.proxy.raw_recorder import RawRecorder, raw_recorder
from tests.support.ports import LOOPBACK, free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_PLANS = ROOT / "migration_plans" / "plans"


@dataclass
class RunningProxy:
    port: int
    process: subprocess.Popen[bytes]
    access_log: Path
    stderr_path: Path
    confdir: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def log_lines(self) -> list[dict[str, object]]:
        if not self.access_log.exists():
            return []
        return [json.loads(line) for line in self.access_log.read_text().splitlines()]

    def log_line(self, request_id: str) -> dict[str, object]:
        (line,) = [x for x in self.log_lines() if x["request_id"] == request_id]
        return line

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def runproxy_command(
    port: int,
    *,
    legacy_url: str,
    plans_dir: Path,
    legacy_db_url: str,
    access_log: Path,
    confdir: Path,
) -> list[str]:
    return [
        sys.executable,
        str(ROOT / "manage.py"),
        "runproxy",
        *("--port", str(port)),
        *("--legacy", legacy_url),
        *("--plans", str(plans_dir)),
        *("--legacy-db", legacy_db_url),
        *("--access-log", str(access_log)),
        *("--confdir", str(confdir)),
    ]


@contextmanager
def running_proxy(
    workdir: Path,
    *,
    legacy_url: str,
    plans_dir: Path = SHIPPED_PLANS,
    legacy_db_url: str | None = None,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
) -> Iterator[RunningProxy]:
    """`extra_args` go after runproxy's usual ones (e.g. `--workers 2`, `--read-timeout 1`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    access_log = workdir / "access.log"
    stderr_path = workdir / "proxy.stderr"
    confdir = workdir / "mitmproxy"
    command = runproxy_command(
        port,
        legacy_url=legacy_url,
        plans_dir=plans_dir,
        legacy_db_url=legacy_db_url or f"sqlite:///{workdir / 'legacy.sqlite3'}",
        access_log=access_log,
        confdir=confdir,
    )
    command += list(extra_args)
    # HOME too: nothing of mitmproxy's may land in the real home directory.
    environment = {**os.environ, "HOME": str(workdir), **(env or {})}
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=stderr, stderr=subprocess.STDOUT
        )
    proxy = RunningProxy(port, process, access_log, stderr_path, confdir)
    try:
        try:
            wait_for_port(port, process=process)
        except RuntimeError as e:
            raise RuntimeError(f"{e}\n{stderr_path.read_text()}") from e
        yield proxy
    finally:
        proxy.stop()


BACKEND = "{backend}"  # in recorder_fixtures' plans and env: the recorder's URL


@contextmanager
def proxy_before_recorder(
    workdir: Path,
    *,
    plans: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
) -> Iterator[tuple[RunningProxy, RawRecorder]]:
    """A proxy whose legacy app is a raw recorder. `plans` maps file names to plan texts and
    `env` adds variables; `{backend}` in either stands for the recorder's URL."""
    plans_dir = workdir / "plans"
    plans_dir.mkdir(parents=True, exist_ok=True)
    with raw_recorder() as backend:
        for name, text in (plans or {}).items():
            (plans_dir / name).write_text(text.replace(BACKEND, backend.url))
        environment = {k: v.replace(BACKEND, backend.url) for k, v in (env or {}).items()}
        with running_proxy(
            workdir,
            legacy_url=backend.url,
            plans_dir=plans_dir,
            env=environment,
            extra_args=extra_args,
        ) as proxy:
            yield proxy, backend


World = tuple[RunningProxy, RawRecorder]


def recorder_fixtures(
    name: str,
    *,
    plans: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
) -> tuple[Callable[..., Iterator[World]], Callable[..., World]]:
    """`world, w = recorder_fixtures("head-limits", extra_args=[...])` in a test module: the
    module's proxy before a recorder, and a per-test fixture that clears the recorder."""

    @pytest.fixture(scope="module")
    def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
        workdir = tmp_path_factory.mktemp(name)
        with proxy_before_recorder(workdir, plans=plans, env=env, extra_args=extra_args) as made:
            yield made

    @pytest.fixture
    def w(world: World) -> World:
        world[1].clear()
        return world

    return world, w


def raw_exchange(port: int, data: bytes, *, timeout: float = 10.0) -> bytes:
    """Send data on a fresh connection and return everything received until the peer closes."""
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def upload_head(target: bytes, size: int) -> bytes:
    """The head of an HTTP/1.1 POST with a `size`-byte body, for raw sockets."""
    return (
        b"POST " + target + b" HTTP/1.1\r\nHost: hospital.example\r\n"
        b"Content-Length: %d\r\n\r\n" % size
    )


def answered(sock: socket.socket, wait: float) -> bool:
    """Whether the proxy has sent something (or closed) within `wait` seconds."""
    return bool(select.select([sock], [], [], wait)[0])


def read_answer(sock: socket.socket) -> bytes:
    """One answer on a connection that may stay open: read until its JSON or HTML body ends
    (the proxy's own answers and the raw recorder's), or the proxy closes."""
    chunks = []
    with suppress(ConnectionResetError, TimeoutError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and chunks[-1].endswith((b"}", b">\n")):
                break
    return b"".join(chunks)


def rss_bytes(pid: int) -> int:
    """A process's resident memory, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def status_of(raw_response: bytes) -> int:
    """The status code of the first response in raw bytes (0 if there is none)."""
    parts = raw_response.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[0].startswith(b"HTTP/") else 0
