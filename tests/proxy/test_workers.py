"""`runproxy --workers N`: N processes answer on one port, supervised.

The supervisor is the process runproxy execs; its children are the workers. Which process
listens where is read from /proc (each worker's socket inodes against /proc/net/tcp's LISTEN
entries), so the test sees the kernel's view, not the proxy's word.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.proxy.processes import (
    RunningProxy,
    answered,
    read_answer,
    running_proxy,
    status_of,
    upload_head,
)
from tests.support.backends import recording_backend

LISTEN = "0A"
KEY = "an-identity-key-for-tests-only-0123456789"


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def listening_inodes(port: int) -> set[str]:
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == LISTEN and int(fields[1].split(":")[1], 16) == port:
            inodes.add(fields[9])
    return inodes


def listens_on(pid: int, port: int) -> bool:
    wanted = {f"socket:[{inode}]" for inode in listening_inodes(port)}
    fds = Path(f"/proc/{pid}/fd")
    try:
        return any(os.readlink(fd) in wanted for fd in fds.iterdir())
    except FileNotFoundError:
        return False


def is_alive(pid: int) -> bool:
    """Some thread of the process still runs. A killed worker's main thread can be a zombie
    while its other threads (asyncio's executor) are still exiting and still hold the
    listening socket, which resets whatever the kernel queued on it; once every thread is a
    zombie or gone, the socket is closed."""
    try:
        threads = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return False
    for thread in threads:
        try:
            state = (thread / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            continue
        if state not in ("Z", "X"):
            return True
    return False


def eventually(condition, *, within: float = 30.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("the condition never held")


@contextmanager
def two_workers_before(legacy_url: str, tmp_path: Path, *extra: str) -> Iterator[RunningProxy]:
    plans = tmp_path / "plans"
    plans.mkdir()
    with running_proxy(
        tmp_path,
        legacy_url=legacy_url,
        plans_dir=plans,
        env={"FICUS_IDENTITY_KEY": KEY},
        extra_args=["--workers", "2", *extra],
    ) as proxy:
        # The supervisor says so once every worker has reported ready (until then, a worker
        # that dies is a failed start, not a crash to recover from).
        eventually(lambda: "2 workers running" in proxy.stderr_path.read_text())
        yield proxy


@pytest.fixture
def two_workers(tmp_path):
    with recording_backend("legacy") as legacy, two_workers_before(legacy.url, tmp_path) as proxy:
        eventually(lambda: len(children(proxy.process.pid)) == 2)
        eventually(lambda: all(listens_on(p, proxy.port) for p in children(proxy.process.pid)))
        yield proxy, legacy


def fresh_requests(proxy, n: int) -> list[int]:
    statuses = []
    for i in range(n):
        # A new connection each time: the kernel spreads connections, not requests.
        with httpx.Client(timeout=10) as client:
            statuses.append(client.get(f"{proxy.url}/page/{i}").status_code)
    return statuses


def test_two_workers_listen_on_one_port_and_both_answer(two_workers):
    proxy, legacy = two_workers
    workers = children(proxy.process.pid)
    assert len(workers) == 2
    assert len(listening_inodes(proxy.port)) == 2  # two sockets (SO_REUSEPORT), one port
    assert all(listens_on(pid, proxy.port) for pid in workers)
    assert fresh_requests(proxy, 20) == [200] * 20
    assert len(legacy.requests) == 20


def test_a_killed_worker_is_survived_and_replaced(two_workers):
    proxy, _legacy = two_workers
    victim, survivor = children(proxy.process.pid)
    os.kill(victim, signal.SIGKILL)
    # Once the victim's socket is closed, the kernel sends new connections to the live one.
    # (What it had already queued for the victim at the instant it died is lost: the one
    # weakness of SO_REUSEPORT, documented in docs/proxy-hardening.md.)
    eventually(lambda: not is_alive(victim))
    assert fresh_requests(proxy, 10) == [200] * 10
    eventually(
        lambda: len(children(proxy.process.pid)) == 2 and victim not in children(proxy.process.pid)
    )
    replacement = next(p for p in children(proxy.process.pid) if p != survivor)
    eventually(lambda: listens_on(replacement, proxy.port))
    assert fresh_requests(proxy, 10) == [200] * 10


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_stops_every_worker_with_status_0(two_workers, signum):
    proxy, _legacy = two_workers
    workers = children(proxy.process.pid)
    assert proxy.stop(signum) == 0
    assert not any(is_alive(pid) for pid in workers)


def test_a_bad_plan_stops_every_worker_and_the_supervisor(tmp_path):
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "broken.yaml").write_text("feature: [\n")
    with (
        pytest.raises(RuntimeError) as info,
        running_proxy(
            tmp_path,
            legacy_url="http://127.0.0.1:1",
            plans_dir=plans,
            env={"FICUS_IDENTITY_KEY": KEY},
            extra_args=["--workers", "2"],
        ),
    ):
        pass
    assert "broken.yaml" in str(info.value)


def upload(proxy, size: int) -> int:
    with httpx.Client(timeout=20) as client:
        return client.post(f"{proxy.url}/api/uploads", content=b"x" * size).status_code


def test_max_buffered_bodies_is_the_whole_proxys_each_worker_holding_its_share(tmp_path):
    limits = ("--max-body", "512k", "--max-buffered-bodies", "1m")
    body = 300 * 1024
    with (
        recording_backend("legacy") as legacy,
        two_workers_before(legacy.url, tmp_path, *limits) as proxy,
    ):
        # 512 KiB a worker: each holds one 300 KiB body at a time, whichever connections it
        # gets, so of four held at once two at least are refused (a worker used to hold the
        # whole 1 MiB: three fit in one, and at most one of four was refused).
        uploads = [socket.create_connection(("127.0.0.1", proxy.port), timeout=10) for _ in "abcd"]
        refused, held = [], []
        try:
            for sock in uploads:
                sock.sendall(upload_head(b"/api/uploads", body))
                if answered(sock, 1.0):  # refused on its Content-Length: no byte of it sent
                    refused.append(read_answer(sock))
                    continue
                sock.sendall(b"x" * (body - 1))  # all but the last byte: its worker holds it
                assert not answered(sock, 0.5)  # held, and counted before the next head comes
                held.append(sock)
            assert len(refused) >= 2
            assert [status_of(answer) for answer in refused] == [503] * len(refused)
            for sock in held:  # the bodies that fit are whole, and forwarded
                sock.sendall(b"x")
                assert status_of(read_answer(sock)) == 200
        finally:
            for sock in uploads:
                sock.close()
        assert [upload(proxy, 256 * 1024) for _ in range(6)] == [200] * 6
