"""A service's metrics across gunicorn workers: prometheus_client's files, compacted on exit.

gunicorn runs a service as several worker processes, and a scrape reaches one of them, so the
workers share their counts through prometheus_client's multiprocess mode: each worker writes its
counters and histograms to `<kind>_<pid>.db` in `PROMETHEUS_MULTIPROC_DIR`, and a scrape sums
the files. Left alone, that directory keeps a file set per dead worker for ever (a restarted
worker has a new pid). So gunicorn's master (this module is its `--config python:` hooks, set
by `manage.py runservice`) folds a dead worker's files into one `<kind>_retired.db` per kind as
soon as the worker exits, clears a previous run's files at start (its master may have been
killed before its exit hook) and removes the run's files when the service stops: the directory
holds the live workers' files and one retired set, whatever the restarts, and every counter
stays monotonic. A lock file orders the fold against scrapes (`locked_collector`), so a scrape
never sees a worker's counts twice or not at all.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

# prometheus_client's multiprocess helpers are not annotated, hence the ignores below.
from prometheus_client import multiprocess
from prometheus_client.metrics_core import Metric
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.registry import Collector

DIR_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
# The kinds whose values outlive their process (gauges here are read from the database).
_CUMULATIVE: Final = ("counter", "histogram", "summary")
_LOCK: Final = ".lock"


@contextlib.contextmanager
def _locked(directory: str, how: int) -> Iterator[None]:
    with open(os.path.join(directory, _LOCK), "a+b") as lock:
        fcntl.flock(lock, how)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class LockedCollector(Collector):
    """prometheus_client's MultiProcessCollector, read under the directory's shared lock."""

    def __init__(self, directory: str) -> None:
        self._directory = directory
        self._inner = multiprocess.MultiProcessCollector(None, path=directory)  # type: ignore[no-untyped-call]

    def collect(self) -> Iterator[Metric]:
        with _locked(self._directory, fcntl.LOCK_SH):
            metrics = list(self._inner.collect())  # type: ignore[no-untyped-call]
        yield from metrics


def fold_dead_worker(directory: str, pid: int) -> None:
    """Add a dead worker's counts into the retired files, then delete its files."""
    with _locked(directory, fcntl.LOCK_EX):
        for kind in _CUMULATIVE:
            dead = os.path.join(directory, f"{kind}_{pid}.db")
            if not os.path.exists(dead):
                continue
            retired = os.path.join(directory, f"{kind}_retired.db")
            sources = [f for f in (retired, dead) if os.path.exists(f)]
            merged = multiprocess.MultiProcessCollector.merge(sources, accumulate=False)  # type: ignore[no-untyped-call]
            staging = retired + ".new"  # not *.db: a scrape never reads it half written
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staging)
            values = MmapedDict(staging)  # type: ignore[no-untyped-call]
            try:
                for metric in merged:
                    for sample in metric.samples:
                        names = list(sample.labels)
                        key = mmap_key(
                            metric.name,
                            sample.name,
                            names,
                            [sample.labels[n] for n in names],
                            metric.documentation,
                        )
                        values.write_value(key, sample.value, 0.0)  # type: ignore[no-untyped-call]
            finally:
                values.close()  # type: ignore[no-untyped-call]
            os.replace(staging, retired)
            os.unlink(dead)
    multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


# gunicorn's server hooks (`--config python:extracted.core.metrics_files`); `server` and
# `worker` are gunicorn's Arbiter and Worker.
def on_starting(server: Any) -> None:
    directory = os.environ.get(DIR_ENV)
    if directory:
        for stale in glob.glob(os.path.join(directory, "*.db")):
            os.unlink(stale)  # a previous run's, killed before it could clean up
        Path(directory).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    directory = os.environ.get(DIR_ENV)
    if directory and os.path.isdir(directory):
        fold_dead_worker(directory, int(worker.pid))


def on_exit(server: Any) -> None:
    """The run's files go; the directory too if nothing else is in it (it may be an operator's)."""
    directory = os.environ.get(DIR_ENV)
    if directory:
        for name in (*glob.glob(os.path.join(directory, "*.db")), os.path.join(directory, _LOCK)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
        with contextlib.suppress(OSError):
            os.rmdir(directory)
