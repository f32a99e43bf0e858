"""Shadow through a real proxy process: legacy answers, the service gets a copy it answers to
no one, and a slow or dead service never delays the client.

The service is a recording backend; the slow one is a socket server that accepts connections
and holds them unanswered until the test lets go (a black hole). The copies' outcomes land in
a real control-plane database as route stats on side `shadow`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from domain.identity import DRY_RUN_HEADER, binding_for_target, verify_dry_run
from tests.proxy.control_db import migrated_control_db, stats_rows
from tests.proxy.personas import seed_sessions
from tests.proxy.processes import running_proxy
from tests.support.backends import recording_backend
from tests.support.ports import LOOPBACK, free_port

KEY = "an-identity-key-for-tests-only-0123456789"
PLAN = """\
feature: {feature}
owner: Test
upstream:
  name: {feature}
  instances: [{service}]
legacy_tables: []
shadow: {{sample_percent: 100, timeout_seconds: {timeout}, max_in_flight: 4, include_writes: true}}
routes:
  - method: GET
    path: /api/{feature}/{{id:int}}
    phase: shadow
  - method: PUT
    path: /api/{feature}/{{id:int}}
    phase: shadow
"""
WAIT_SECONDS = 15.0


class BlackHole:
    """Accepts connections and never answers, until released."""

    def __init__(self) -> None:
        self._server = socket.create_server((LOOPBACK, 0))
        self._held: list[socket.socket] = []
        self._released = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._server.getsockname()[1]}"

    @property
    def connections(self) -> int:
        return len(self._held)

    def _accept(self) -> None:
        while not self._released.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self._held.append(conn)
            self._took(conn)

    def _took(self, conn: socket.socket) -> None:
        """One more connection held (a subclass may read from it)."""

    def release(self) -> None:
        self._released.set()
        self._server.close()
        for conn in self._held:
            conn.close()


def wait_until(check: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if check():
            return True
        threading.Event().wait(0.05)
    return False


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("shadow")
    control_url = migrated_control_db(tmp / "control.sqlite3")
    legacy_db = f"sqlite:///{tmp / 'legacy.sqlite3'}"
    sessions = seed_sessions(legacy_db)
    hole = BlackHole()
    with recording_backend("legacy") as legacy, recording_backend("patients") as service:
        plans = tmp / "plans"
        plans.mkdir()
        (plans / "patients.yaml").write_text(
            PLAN.format(feature="patients", service=service.url, timeout=5)
        )
        (plans / "slow.yaml").write_text(PLAN.format(feature="slow", service=hole.url, timeout=30))
        dead = f"http://{LOOPBACK}:{free_port()}"
        (plans / "dead.yaml").write_text(PLAN.format(feature="dead", service=dead, timeout=5))
        env = {"FICUS_CONTROL_DB_URL": control_url, "FICUS_IDENTITY_KEY": KEY}
        try:
            with (
                running_proxy(
                    tmp / "proxy",
                    legacy_url=legacy.url,
                    plans_dir=plans,
                    legacy_db_url=legacy_db,
                    env=env,
                ) as proxy,
                httpx.Client(base_url=proxy.url, timeout=10) as client,
            ):
                yield {
                    "client": client,
                    "legacy": legacy,
                    "service": service,
                    "hole": hole,
                    "control": control_url,
                    "sessions": sessions,
                }
        finally:
            hole.release()


def api_requests(backend, path):
    return [r for r in backend.requests if r.path == path]


def shadow_rows(control, feature):
    return [r for r in stats_rows(control) if r["feature"] == feature and r["side"] == "shadow"]


def test_a_clinicians_read_is_answered_by_legacy_and_copied_to_the_service(world):
    client, service = world["client"], world["service"]
    headers = {"Cookie": f"SESSID={world['sessions']['clinician']}"}
    response = client.get("/api/patients/3", headers=headers)
    assert response.json()["backend"] == "legacy"
    assert wait_until(lambda: api_requests(service, "/api/patients/3"))
    (copy,) = api_requests(service, "/api/patients/3")
    request_id = response.headers["X-Ficus-Request-Id"]
    assert copy.header("x-ficus-request-id") == request_id
    identity = copy.identity(KEY.encode())
    assert (identity.login, identity.request_id) == ("clinician", request_id)
    assert copy.header(DRY_RUN_HEADER) is None  # a read needs no dry run
    assert wait_until(lambda: shadow_rows(world["control"], "patients"))


def test_a_write_is_copied_only_with_a_signed_dry_run_for_the_same_request(world):
    client, service, legacy = world["client"], world["service"], world["legacy"]
    headers = {"Cookie": f"SESSID={world['sessions']['clinician']}"}
    response = client.put("/api/patients/4", json={"NAME": "TEST"}, headers=headers)
    assert response.json()["backend"] == "legacy"
    assert len(api_requests(legacy, "/api/patients/4")) == 1
    assert wait_until(lambda: api_requests(service, "/api/patients/4"))
    (copy,) = api_requests(service, "/api/patients/4")
    assert copy.body == b'{"NAME":"TEST"}'
    request_id = response.headers["X-Ficus-Request-Id"]
    dry_run = verify_dry_run(
        copy.header(DRY_RUN_HEADER),
        KEY.encode(),
        time.time(),
        request_id=request_id,
        binding=binding_for_target("PUT", b"/api/patients/4"),
    )
    assert dry_run.request_id == request_id


def test_a_slow_service_never_delays_the_client(world):
    client, hole = world["client"], world["hole"]
    response = client.get("/api/slow/1")
    assert (response.status_code, response.json()["backend"]) == (200, "legacy")
    assert wait_until(lambda: hole.connections >= 1)
    # The copy is still waiting for the hole (its deadline is 30 s): the client's answer came
    # first, and no shadow outcome exists yet.
    assert shadow_rows(world["control"], "slow") == []


def test_a_dead_service_never_fails_the_client_and_counts_as_a_shadow_error(world):
    client = world["client"]
    for n in range(3):
        response = client.get(f"/api/dead/{n}")
        assert (response.status_code, response.json()["backend"]) == (200, "legacy")
    assert wait_until(lambda: sum(r["errors"] for r in shadow_rows(world["control"], "dead")) >= 3)
