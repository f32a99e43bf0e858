"""`runservice --workers 2`: one /__ficus/metrics for all of gunicorn's workers, as a real process.

The counts of every worker are summed whichever worker a scrape reaches, a worker killed with
SIGKILL keeps its counts (folded into the retired files by gunicorn's master), and the metrics
directory never holds more than the live workers' files and one retired set.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.extracted.core.test_runservice import get, service_env, service_process
from tests.support.prometheus import check_metrics, value

HEALTH = "/__ficus/health"


def children(pid: int) -> list[int]:
    return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def metrics_dir(pid: int) -> Path:
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    (entry,) = [e for e in environ if e.startswith(b"PROMETHEUS_MULTIPROC_DIR=")]
    return Path(entry.split(b"=", 1)[1].decode())


def eventually(condition, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        time.sleep(0.1)


def health_requests(base: str) -> float:
    status, _, body = get(f"{base}/__ficus/metrics")
    assert status == 200
    return value(body.decode(), "ficus_service_requests_total", route=HEALTH)


def test_the_workers_counts_are_summed_and_survive_a_killed_worker(tmp_path):
    with service_process(service_env(tmp_path), tmp_path, workers=2) as (process, base):
        eventually(lambda: len(children(process.pid)) == 2)
        directory = metrics_dir(process.pid)
        for _ in range(20):
            assert get(f"{base}{HEALTH}")[0] == 200
        seen = [health_requests(base)]
        assert seen[0] == 20  # a scrape reaches one worker, and reads every worker's counts
        _status, _, page = get(f"{base}/__ficus/metrics")
        assert check_metrics(page.decode()) == ""

        victim = children(process.pid)[0]
        os.kill(victim, signal.SIGKILL)
        eventually(lambda: victim not in children(process.pid) and len(children(process.pid)) == 2)
        eventually(lambda: not list(directory.glob(f"*_{victim}.db")))
        seen.append(health_requests(base))
        for _ in range(5):
            assert get(f"{base}{HEALTH}")[0] == 200
        seen.append(health_requests(base))
        assert seen == sorted(seen)
        assert seen[-1] >= 25
        live = {str(pid) for pid in children(process.pid)}
        owners = {f.stem.rsplit("_", 1)[1] for f in directory.glob("*.db")}
        assert owners <= live | {"retired"}

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert not directory.exists()  # removed at exit: nothing piles up across runs


def test_a_killed_master_leaves_no_directory_behind_run_after_run(tmp_path):
    """The operator's `kill -9` of gunicorn's master skips its exit hook: the next run uses the
    same directory and clears what the killed one left, so directories never pile up."""
    env = service_env(tmp_path)
    seen = set()
    for _ in range(2):
        with service_process(env, tmp_path, workers=1) as (process, base):
            eventually(lambda: len(children(process.pid)) == 1)
            directory = metrics_dir(process.pid)
            seen.add(directory)
            assert get(f"{base}{HEALTH}")[0] == 200
            assert health_requests(base) == 1  # the killed run's counts were cleared
            workers = children(process.pid)
            process.kill()  # SIGKILL: on_exit never runs
            process.wait()
            for pid in workers:
                eventually(lambda pid=pid: not Path(f"/proc/{pid}").exists())
    assert seen == {tmp_path / "metrics" / "appointments"}
    assert [p.name for p in (tmp_path / "metrics").iterdir()] == ["appointments"]


def test_an_operators_metrics_directory_is_used_and_kept(tmp_path):
    mine = tmp_path / "operator-metrics"
    mine.mkdir()
    (mine / "README").write_text("the operator's")
    env = service_env(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(mine))
    with service_process(env, tmp_path, workers=1) as (process, base):
        eventually(lambda: len(children(process.pid)) == 1)
        assert metrics_dir(process.pid) == mine
        assert get(f"{base}{HEALTH}")[0] == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    assert [p.name for p in mine.iterdir()] == ["README"]
