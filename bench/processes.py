"""Starting and stopping the processes a benchmark measures, each pinned to a chosen CPU."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.ports import free_port, wait_for_port

REPO_ROOT = Path(__file__).resolve().parent.parent
__all__ = ["REPO_ROOT", "free_port", "running"]


@contextmanager
def running(
    argv: Sequence[str],
    *,
    port: int,
    cpu: int | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run argv (pinned to `cpu` if given) until the block ends; it must listen on `port`."""
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
