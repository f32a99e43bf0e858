"""The supervisor of `runproxy --workers N`: N worker processes on one port (SO_REUSEPORT).

It starts each worker with its index (`--worker-index`) and the write end of a pipe
(`FICUS_READY_FD`) on which the worker writes one byte once its port is open; the supervisor
reports ready once all have, restarts a worker that dies (after a pause if it died young), and
on SIGTERM or SIGINT stops them all within a grace period. With `metrics` (host, port) it
serves the workers' Prometheus `/metrics`: each worker gets its own pipe (`FICUS_METRICS_FD`)
for its snapshots (proxy/metrics_link.py).
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Final

from proxy.metrics_link import METRICS_FD_ENV, MetricsHub, serve

READY_FD_ENV: Final = "FICUS_READY_FD"
WORKER_ENV: Final = "FICUS_WORKER"
# A worker that dies sooner than this after its start is restarted after a pause that grows.
CRASH_LOOP_SECONDS: Final = 2.0
STOP_GRACE_SECONDS: Final = 15.0


class Supervisor:
    """Starts `workers` worker processes on one port, restarts the dead, stops them all."""

    def __init__(
        self, worker_argv: Sequence[str], workers: int, *, metrics: tuple[str, int] | None = None
    ) -> None:
        self._argv = list(worker_argv)
        self._metrics = metrics
        self._hub = MetricsHub() if metrics is not None else None
        self._count = workers
        self._workers: dict[int, tuple[subprocess.Popen[bytes], float]] = {}
        self._pauses: dict[int, float] = {}
        self._stopping = False

    def _start(self, index: int, ready_fd: int | None) -> None:
        env = {**os.environ, WORKER_ENV: str(index)}
        env.pop(READY_FD_ENV, None)
        pass_fds: tuple[int, ...] = ()
        if ready_fd is not None:
            env[READY_FD_ENV] = str(ready_fd)
            pass_fds = (ready_fd,)
        metrics_fd = None
        if self._hub is not None:
            metrics_fd = self._hub.pipe_for(index)
            env[METRICS_FD_ENV] = str(metrics_fd)
            pass_fds = (*pass_fds, metrics_fd)
        try:
            process = subprocess.Popen(
                [*self._argv, "--worker-index", str(index)], env=env, pass_fds=pass_fds
            )
        finally:
            if metrics_fd is not None:
                os.close(metrics_fd)  # the worker's now: its exit ends the pipe
        self._workers[index] = (process, time.monotonic())

    def _stop(self, *_: object) -> None:
        self._stopping = True

    def _terminate_all(self) -> None:
        for process, _started in self._workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process, _started in self._workers.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        stop_metrics = None
        if self._hub is not None and self._metrics is not None:
            hub, (host, port) = self._hub, self._metrics
            stop_metrics = serve(hub.source, host, port, hub)
        try:
            return self._supervise()
        finally:
            if stop_metrics is not None:
                stop_metrics()

    def _supervise(self) -> int:
        read_end, write_end = os.pipe()
        try:
            for index in range(1, self._count + 1):
                self._start(index, write_end)
        finally:
            os.close(write_end)  # only the workers hold it now
        status = self._wait_until_ready(read_end)
        os.close(read_end)
        if status is not None:
            self._terminate_all()
            return status
        print(f"Ficus proxy: {self._count} workers running", file=sys.stderr, flush=True)
        while not self._stopping:
            self._restart_the_dead()
            time.sleep(0.2)
        self._terminate_all()
        return 0

    def _wait_until_ready(self, read_end: int) -> int | None:
        """None once every worker is ready; a failing worker's exit status otherwise."""
        ready = 0
        while ready < self._count and not self._stopping:
            try:
                readable, _, _ = select.select([read_end], [], [], 0.2)
            except InterruptedError:
                continue
            if readable:
                data = os.read(read_end, 64)
                ready += len(data)
            for process, _started in self._workers.values():
                code = process.poll()
                if code is not None:
                    return code or 1
        return None

    def _restart_the_dead(self) -> None:
        now = time.monotonic()
        for index, (process, started) in list(self._workers.items()):
            code = process.poll()
            if code is None:
                continue
            pause_until = self._pauses.get(index)
            if pause_until is None:
                quick = now - started < CRASH_LOOP_SECONDS
                print(
                    f"Ficus proxy: worker {index} exited with status {code}; restarting it",
                    file=sys.stderr,
                    flush=True,
                )
                self._pauses[index] = now + (CRASH_LOOP_SECONDS if quick else 0.0)
                continue
            if now >= pause_until:
                del self._pauses[index]
                self._start(index, None)
                if self._hub is not None:
                    self._hub.restarted()
