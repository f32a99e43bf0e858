"""Upstream failures through the real proxy: 504 on timeouts, generic 502s, no retried POST.

One proxy process with short timeouts (`--connect-timeout 1 --read-timeout 1`), in front of a
recording legacy app and one migrated feature per kind of broken service: silent (accepts,
never answers), unreachable (a full accept queue: connecting hangs), garbage, reset, and a port
where nothing listens. Each answer is checked for its status, its fixed body (never upstream
bytes) and the reason in the access log; the broken service is checked for how many requests
it got. The statuses are those of writes (DELETE, POST): a failed read falls back to legacy
instead (tests/proxy/test_forwarder_fallback.py). Last, the pure helper that turns an
upstream's headers into the client's.
"""

from __future__ import annotations

import contextlib
import socket

import httpx
import pytest

from proxy.flow_responses import response_headers
from tests.proxy.processes import running_proxy
from tests.proxy.raw_recorder import misbehaving
from tests.support.backends import recording_backend
from tests.support.ports import LOOPBACK, free_port

KEY = "an-identity-key-for-tests-only-0123456789"
PLAN = """\
feature: {name}
owner: Test
upstream:
  name: {name}
  instances: [{url}]
legacy_tables: []
routes:
  - method: GET
    path: /api/{name}/{{id:int}}
    phase: migrated
  - method: POST
    path: /api/{name}/{{id:int}}
    phase: migrated
  - method: DELETE
    path: /api/{name}/{{id:int}}
    phase: migrated
"""


def write_plan(plans, name, url):
    (plans / f"{name}.yaml").write_text(PLAN.format(name=name, url=url))


class FullBacklog:
    """A listening socket whose accept queue is full: a connect to it hangs (SYNs dropped)."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind((LOOPBACK, 0))
        self.server.listen(0)
        self.fillers = []
        for _ in range(3):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(self.server.getsockname())
            self.fillers.append(filler)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server.getsockname()[1]}"

    def close(self) -> None:
        for sock in (*self.fillers, self.server):
            sock.close()


@contextlib.contextmanager
def broken_services(workdir, *, read_timeout: float, client_timeout: float):
    """The real proxy in front of a recording legacy app and one migrated feature per kind of
    broken service (down, nowhere, silent, garbage, reset), with short timeouts."""
    plans = workdir / "plans"
    plans.mkdir()
    backlog = FullBacklog()
    with (
        recording_backend("legacy") as legacy,
        misbehaving("silent") as silent,
        misbehaving("garbage") as garbage,
        misbehaving("reset") as reset,
    ):
        write_plan(plans, "silent", silent.url)
        write_plan(plans, "garbage", garbage.url)
        write_plan(plans, "reset", reset.url)
        write_plan(plans, "nowhere", backlog.url)
        write_plan(plans, "down", f"http://{LOOPBACK}:{free_port()}")
        args = ["--connect-timeout", "1", "--read-timeout", str(read_timeout)]
        # A high breaker threshold: these modules are about single failures.
        args += ["--breaker-failures", "100"]
        try:
            with (
                running_proxy(
                    workdir,
                    legacy_url=legacy.url,
                    plans_dir=plans,
                    env={"FICUS_IDENTITY_KEY": KEY},
                    extra_args=args,
                ) as proxy,
                httpx.Client(base_url=proxy.url, timeout=client_timeout) as client,
            ):
                yield {
                    "proxy": proxy,
                    "client": client,
                    "legacy": legacy,
                    "silent": silent,
                    "garbage": garbage,
                    "reset": reset,
                }
        finally:
            backlog.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("forwarder")
    with broken_services(workdir, read_timeout=1, client_timeout=20) as w:
        yield w


def last_log(w):
    return w["proxy"].log_lines()[-1]


def test_a_service_that_never_answers_gives_504(world):
    response = world["client"].delete("/api/silent/1")
    assert response.status_code == 504
    assert response.json() == {
        "ERR": "GATEWAY TIMEOUT: THE UPSTREAM DID NOT ANSWER IN TIME",
        "CODE": 922,
    }
    assert (last_log(world)["status"], last_log(world)["error"]) == (504, "upstream_timeout")


def test_a_service_that_never_accepts_gives_504(world):
    response = world["client"].delete("/api/nowhere/1")
    assert response.status_code == 504
    assert last_log(world)["error"] == "upstream_connect_timeout"


def test_garbage_gives_a_generic_502_that_echoes_nothing(world):
    response = world["client"].delete("/api/garbage/1")
    assert response.status_code == 502
    assert response.json() == {
        "ERR": "BAD GATEWAY: THE UPSTREAM SENT AN INVALID RESPONSE",
        "CODE": 920,
    }
    assert b"DOE" not in response.content
    assert b"900-12" not in response.content
    assert last_log(world)["error"] == "upstream_garbage"


def test_a_refused_connection_gives_502(world):
    response = world["client"].delete("/api/down/1")
    assert response.status_code == 502
    assert "127.0.0.1" not in response.text
    assert last_log(world)["error"] == "upstream_refused"


def test_a_post_whose_connection_is_reset_is_sent_once_and_not_retried(world):
    before = len(world["reset"].requests)
    response = world["client"].post("/api/reset/1", content=b'{"PAT_ID": 17}')
    assert response.status_code == 502
    assert last_log(world)["error"] == "upstream_reset"
    posts = [r for r in world["reset"].requests[before:] if r.startswith(b"POST")]
    assert len(posts) == 1
    # ...and the legacy app never got it either: a write is never re-sent anywhere.
    assert all(r.method != "POST" for r in world["legacy"].requests)


def test_a_post_to_a_silent_service_is_sent_once(world):
    before = len(world["silent"].requests)
    response = world["client"].post("/api/silent/1", content=b"{}")
    assert response.status_code == 504
    assert len(world["silent"].requests) - before == 1


def test_the_proxy_keeps_serving_after_upstream_failures(world):
    assert world["client"].get("/legacy/page").status_code == 200
    assert world["legacy"].paths()[-1] == "/legacy/page"


def test_response_headers_drop_hop_by_hop_and_reframe_the_body():
    raw = [
        (b"Content-Type", b"application/json"),
        (b"Transfer-Encoding", b"chunked"),
        (b"Connection", b"keep-alive, X-Secret"),
        (b"X-Secret", b"internal"),
        (b"Keep-Alive", b"timeout=5"),
    ]
    assert response_headers(raw, 12) == [
        (b"Content-Type", b"application/json"),
        (b"Content-Length", b"12"),
    ]
    head = [(b"Content-Length", b"99")]
    assert response_headers(head, None) == head  # HEAD/204/304: the upstream's length stays
