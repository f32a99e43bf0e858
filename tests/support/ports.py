"""Free loopback ports, and waiting until a process listens on one.

Tests run real servers on 127.0.0.1. A port from the kernel (bind to 0) is free at the moment
it is returned; the small race until the server binds it is accepted, as in every such suite.
"""

from __future__ import annotations

import socket
import subprocess
import time

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_open(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(
    port: int,
    host: str = LOOPBACK,
    *,
    timeout: float = 30.0,
    process: subprocess.Popen[bytes] | subprocess.Popen[str] | None = None,
) -> None:
    """Return once something accepts connections on host:port.

    If `process` exits first, fail at once with its output instead of waiting out the timeout.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_is_open(port, host):
            return
        if process is not None and process.poll() is not None:
            out, err = process.communicate()
            raise RuntimeError(
                f"process exited with {process.returncode} before listening on {host}:{port}\n"
                f"stdout: {out!r}\nstderr: {err!r}"
            )
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")
