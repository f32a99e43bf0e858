"""The evidence loop through a real proxy process: legacy serves, the service gets a copy, and
the two answers end up compared in the control-plane database, de-identified.

Legacy and the services are recording backends answering fixed JSON (or a new body for each
request, for a field that varies); the slow service is a black hole. Assertions are on counts
and rows, never on timings.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading

import httpx
import pytest

from tests.proxy.control_db import evidence_rows, migrated_control_db, stats_rows
from tests.proxy.processes import running_proxy
from tests.proxy.test_shadow_through_the_proxy import BlackHole, wait_until
from tests.support.backends import recording_backend
from tests.support.ports import LOOPBACK, free_port

KEY = "an-identity-key-for-tests-only-0123456789"
EVIDENCE_KEY = "00112233445566778899aabbccddeeff"
PLAN = """\
feature: {feature}
owner: Test
upstream:
  name: {feature}
  instances: [{service}]
legacy_tables: []
shadow:
  sample_percent: 100
  timeout_seconds: {timeout}
  max_in_flight: 4
  compare: {{noise: {{sample_percent: {noise}}}}}
routes:
  - method: GET
    path: /api/{feature}/{{id:int}}
    phase: shadow
"""
PATIENT = {"id": 1, "name": "Jane Testperson", "mrn": "MRN0042", "ward": "4B"}
FEATURES = ("diff", "same", "noisy", "dead", "slow")


class ReadingHole(BlackHole):
    """A black hole that reads each request's head (so copies and health probes can be told
    apart) and then never answers."""

    def __init__(self) -> None:
        self.heads: list[bytes] = []
        super().__init__()

    def _took(self, conn: socket.socket) -> None:
        threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            try:
                chunk = conn.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            data += chunk
        self.heads.append(data.split(b"\r\n", 1)[0])

    def copies(self) -> int:
        return sum(1 for head in self.heads if head.startswith(b"GET /api/slow/"))


def body(value):
    return json.dumps(value).encode()


def varying(start=0):
    served = itertools.count(start)
    return lambda: body({**PATIENT, "served": next(served)})


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("evidence")
    control_url = migrated_control_db(tmp / "control.sqlite3")
    hole = ReadingHole()
    dead = f"http://{LOOPBACK}:{free_port()}"
    with (
        recording_backend("legacy") as legacy,
        recording_backend("diff") as diff,
        recording_backend("same") as same,
        recording_backend("noisy") as noisy,
    ):
        for feature in FEATURES:
            legacy.answer(f"/api/{feature}/1", status=200, body=body(PATIENT))
        legacy.answer("/api/noisy/1", status=200, body=varying())
        diff.answer("/api/diff/1", status=200, body=body({**PATIENT, "name": "JANE TESTPERSON"}))
        diff.answer("/api/diff/2", status=200, body=body({**PATIENT, "mrn": "MRN0042-B"}))
        legacy.answer("/api/diff/2", status=200, body=body(PATIENT))
        same.answer("/api/same/1", status=200, body=body(PATIENT))
        noisy.answer("/api/noisy/1", status=200, body=varying(1000))
        plans = tmp / "plans"
        plans.mkdir()
        urls = {"diff": diff.url, "same": same.url, "noisy": noisy.url, "dead": dead}
        urls["slow"] = hole.url
        for feature, url in urls.items():
            (plans / f"{feature}.yaml").write_text(
                PLAN.format(
                    feature=feature,
                    service=url,
                    timeout=30 if feature == "slow" else 5,
                    noise=100 if feature == "noisy" else 0,
                )
            )
        env = {
            "FICUS_CONTROL_DB_URL": control_url,
            "FICUS_IDENTITY_KEY": KEY,
            "FICUS_EVIDENCE_KEY": EVIDENCE_KEY,
        }
        try:
            with (
                running_proxy_for(tmp, legacy.url, plans, env) as proxy,
                httpx.Client(base_url=proxy.url, timeout=10) as client,
            ):
                yield {"client": client, "control": control_url, "hole": hole, "legacy": legacy}
        finally:
            hole.release()


def running_proxy_for(tmp, legacy_url, plans, env):
    return running_proxy(tmp / "proxy", legacy_url=legacy_url, plans_dir=plans, env=env)


def tallies(control, feature):
    rows, _ = evidence_rows(control)
    return [r["tally"] for r in rows if r["feature"] == feature]


def compared(control, feature):
    return sum(t["compared"] for t in tallies(control, feature))


def raw_fields(control, feature):
    fields: dict[str, int] = {}
    for t in tallies(control, feature):
        for name, count in t["raw"].items():
            fields[name] = fields.get(name, 0) + count
    return fields


def ask(world, path, times=1):
    for _ in range(times):
        response = world["client"].get(path)
        assert response.status_code == 200
        assert response.json()["id"] == 1  # legacy's answer, whatever the service says


def test_a_field_the_service_answers_differently_is_named_in_the_evidence(world):
    ask(world, "/api/diff/1", 3)
    assert wait_until(lambda: compared(world["control"], "diff") >= 3)
    assert raw_fields(world["control"], "diff") == {"body.name": 3}


def test_an_identical_service_has_no_differences(world):
    ask(world, "/api/same/1", 3)
    assert wait_until(lambda: compared(world["control"], "same") >= 3)
    assert raw_fields(world["control"], "same") == {}


def test_a_field_legacy_itself_varies_in_is_measured_as_noise(world):
    ask(world, "/api/noisy/1", 5)
    assert wait_until(lambda: compared(world["control"], "noisy") >= 5)
    found = tallies(world["control"], "noisy")
    assert sum(t["noise_compared"] for t in found) == 5
    assert sum(t["noise"].get("body.served", 0) for t in found) == 5
    assert raw_fields(world["control"], "noisy") == {"body.served": 5}
    # legacy was asked twice for each read: once for the client, once for noise
    assert len([r for r in world["legacy"].requests if r.path == "/api/noisy/1"]) == 10


def test_the_samples_stored_are_de_identified(world):
    ask(world, "/api/diff/1")
    ask(world, "/api/diff/2")
    assert wait_until(
        lambda: {"body.name", "body.mrn"} <= set(raw_fields(world["control"], "diff"))
    )

    def samples():
        return [s for s in evidence_rows(world["control"])[1] if s["feature"] == "diff"]

    assert wait_until(lambda: {s["field"] for s in samples()} == {"body.name", "body.mrn"})
    stored = json.dumps([{k: str(v) for k, v in s.items()} for s in samples()])
    for identifier in ("Testperson", "TESTPERSON", "Jane", "JANE", "MRN0042"):
        assert identifier not in stored


def test_a_dead_or_slow_service_leaves_legacy_answering_and_the_copies_bounded(world):
    for _ in range(10):
        ask(world, "/api/dead/1")
        ask(world, "/api/slow/1")
    control = world["control"]

    def dead_errors():
        rows = stats_rows(control)
        return sum(r["errors"] for r in rows if r["feature"] == "dead" and r["side"] == "shadow")

    assert wait_until(lambda: dead_errors() >= 10)
    # A failed copy is an error outcome, never a compared exchange (so never a difference).
    assert compared(control, "dead") == 0
    # The black hole holds every copy it got: never more than max_in_flight (4) of them, the
    # rest were dropped, not queued.
    assert wait_until(lambda: world["hole"].copies() >= 4)
    assert world["hole"].copies() == 4
    assert compared(control, "slow") == 0
