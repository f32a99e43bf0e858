"""Starting and stopping the processes a benchmark measures (each pinned to chosen CPUs), and
reading their memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.ports import free_port, wait_for_port

REPO_ROOT = Path(__file__).resolve().parent.parent
__all__ = [
    "REPO_ROOT",
    "cpu_seconds",
    "free_port",
    "idle_keepalive_connections",
    "memory_kib",
    "running",
    "worker_pids",
]


@contextmanager
def running(
    argv: Sequence[str],
    *,
    port: int,
    cpu: int | str | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run argv (pinned to `cpu`, e.g. 1 or "0,1", if given) until the block ends; it must
    listen on `port`."""
    command = [*(["taskset", "-c", str(cpu)] if cpu is not None else []), *argv]
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(port, process=process)
        yield process
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def worker_pids(pid: int) -> list[int]:
    """The processes doing the work: the children of a supervisor (or of nginx's master), else
    the process itself."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    children = [int(x) for x in path.read_text().split()] if path.exists() else []
    return children or [pid]


def memory_kib(pid: int) -> tuple[int, int]:
    """(current RSS, peak RSS) of one process in KiB, from /proc/PID/status."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values["VmRSS"], values["VmHWM"]


@contextmanager
def idle_keepalive_connections(port: int, count: int, path: str) -> Iterator[int]:
    """Open `count` connections that each complete one keep-alive request, then stay idle.

    Yields how many are open (connections the proxy refused or closed are not counted).
    """
    request = f"GET {path} HTTP/1.1\r\nHost: bench.example\r\n\r\n".encode()
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
            sockets.append(sock)
            sock.sendall(request)
        alive = 0
        for sock in sockets:
            try:
                if sock.recv(65536):
                    alive += 1
            except OSError:
                pass
        yield alive
    finally:
        for sock in sockets:
            sock.close()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time one process has used so far, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
