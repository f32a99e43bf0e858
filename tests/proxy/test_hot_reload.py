"""Hot reload through a real proxy process and a real control-plane database (SQLite file,
tables made by the control plane's own Django migrations).

A client keeps sending requests while an operator's change (a state row plus a generation bump,
as `migration_plans.services` writes them) lands: the next requests are routed the new way with
no restart, and not one request fails during the switch. When the database goes away the last
good table stays in force and the proxy says why, once; route stats rows appear meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from domain.phases import cohort_bucket
from tests.proxy.control_db import migrated_control_db, set_state, stats_rows
from tests.proxy.processes import running_proxy
from tests.support.backends import recording_backend
from tests.support.ports import free_port
from tests.support.prometheus import scrape, value

KEY = "an-identity-key-for-tests-only-0123456789"
PLAN = """\
feature: charts
owner: Test
upstream:
  name: charts
  instances: [{service}]
legacy_tables: []
cohort: {{key: header, name: x-ward}}
routes:
  - method: GET
    path: /api/charts/{{id:int}}
    phase: legacy
"""
TEMPLATE = "/api/charts/{id:int}"
WAIT_SECONDS = 15.0  # a bound on waiting for a change, never an assertion on speed


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hot-reload")
    control_url = migrated_control_db(tmp / "control.sqlite3")
    with recording_backend("legacy") as legacy, recording_backend("charts") as service:
        plans = tmp / "plans"
        plans.mkdir()
        (plans / "charts.yaml").write_text(PLAN.format(service=service.url))
        env = {"FICUS_CONTROL_DB_URL": control_url, "FICUS_IDENTITY_KEY": KEY}
        metrics_port = free_port()
        with (
            running_proxy(
                tmp / "proxy",
                legacy_url=legacy.url,
                plans_dir=plans,
                env=env,
                extra_args=["--metrics-port", str(metrics_port)],
            ) as proxy,
            httpx.Client(base_url=proxy.url, timeout=10) as client,
        ):
            yield {
                "client": client,
                "proxy": proxy,
                "control": control_url,
                "db": tmp / "control.sqlite3",
                "metrics": f"http://127.0.0.1:{metrics_port}/metrics",
            }


def backend_of(client: httpx.Client, path: str = "/api/charts/1", **headers: str) -> str:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["backend"])


def wait_until(check: Callable[[], bool]) -> bool:
    done = threading.Event()
    for _ in range(int(WAIT_SECONDS / 0.05)):
        if check():
            return True
        done.wait(0.05)
    return False


class Hammer:
    """Sends requests back to back on its own connection until stopped; keeps every outcome."""

    def __init__(self, url: str) -> None:
        self.outcomes: list[object] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url,), daemon=True)

    def _run(self, url: str) -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            while not self._stop.is_set():
                try:
                    response = client.get("/api/charts/2")
                    self.outcomes.append((response.status_code, response.json()["backend"]))
                except (httpx.HTTPError, ValueError) as e:
                    self.outcomes.append(e)

    def saw(self, side: str) -> bool:
        """Whether the hammer's latest answer came from `side`."""
        last = self.outcomes[-1] if self.outcomes else None
        return isinstance(last, tuple) and last[1] == side

    def __enter__(self) -> Hammer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=20)


def test_an_operators_change_reroutes_the_next_requests_without_a_restart_or_a_failure(world):
    client, proxy = world["client"], world["proxy"]
    assert backend_of(client) == "legacy"
    with Hammer(proxy.url) as hammer:
        # Each flip waits for the hammer too, not only for the client: on a loaded machine the
        # hammer's thread may not have sent a request in a window yet.
        assert wait_until(lambda: hammer.saw("legacy"))
        set_state(world["control"], "charts", "GET", TEMPLATE, "migrated")
        assert wait_until(lambda: backend_of(client) == "charts" and hammer.saw("charts"))
        set_state(world["control"], "charts", "GET", TEMPLATE, "legacy")
        assert wait_until(lambda: backend_of(client) == "legacy" and hammer.saw("legacy"))
    assert proxy.process.poll() is None  # the same process all along
    statuses = {o[0] if isinstance(o, tuple) else repr(o) for o in hammer.outcomes}
    assert statuses == {200}
    sides = {o[1] for o in hammer.outcomes if isinstance(o, tuple)}
    assert sides == {"legacy", "charts"}  # the hammer saw both tables, and no failure


def test_the_metrics_name_the_generation_of_the_table_in_force(world):
    generation = set_state(world["control"], "charts", "GET", TEMPLATE, "legacy")

    def in_force() -> bool:
        page = scrape(world["metrics"])
        return value(page, "ficus_proxy_route_table_generation", worker="1") == generation

    assert wait_until(in_force)


def test_a_canary_keeps_each_ward_on_its_side_and_grows_without_moving_one_back(world):
    client = world["client"]
    wards = [f"ward-{i}" for i in range(40)]
    set_state(world["control"], "charts", "GET", TEMPLATE, "canary", 30)
    probe = next(w for w in wards if cohort_bucket("charts", w) < 3000)
    assert wait_until(lambda: backend_of(client, **{"X-Ward": probe}) == "charts")
    at_30 = {w: backend_of(client, **{"X-Ward": w}) for w in wards}
    assert at_30 == {w: "charts" if cohort_bucket("charts", w) < 3000 else "legacy" for w in wards}
    assert backend_of(client) == "legacy"  # no ward header: no cohort, legacy
    set_state(world["control"], "charts", "GET", TEMPLATE, "canary", 70)
    newcomer = next(w for w in wards if 3000 <= cohort_bucket("charts", w) < 7000)
    assert wait_until(lambda: backend_of(client, **{"X-Ward": newcomer}) == "charts")
    at_70 = {w: backend_of(client, **{"X-Ward": w}) for w in wards}
    assert all(at_70[w] == "charts" for w in wards if at_30[w] == "charts")
    set_state(world["control"], "charts", "GET", TEMPLATE, "legacy")
    assert wait_until(lambda: backend_of(client, **{"X-Ward": probe}) == "legacy")


def test_route_stats_rows_appear_for_each_side_and_for_unknown_routes(world):
    client = world["client"]
    backend_of(client)  # legacy
    set_state(world["control"], "charts", "GET", TEMPLATE, "migrated")
    assert wait_until(lambda: backend_of(client) == "charts")
    client.get("/nowhere/at/all")
    set_state(world["control"], "charts", "GET", TEMPLATE, "legacy")

    def has_rows() -> bool:
        keys = {(r["feature"], r["template"], r["side"]) for r in stats_rows(world["control"])}
        return {
            ("charts", TEMPLATE, "legacy"),
            ("charts", TEMPLATE, "service"),
            ("legacy", "/**", "legacy"),
        } <= keys

    assert wait_until(has_rows)
    rows = stats_rows(world["control"])
    assert all(len(r["latency_buckets"]) == 20 for r in rows)
    assert sum(r["requests"] for r in rows if r["side"] == "service") >= 1


def test_an_unreachable_control_plane_keeps_the_last_good_table_and_says_why(world):
    client, proxy, db = world["client"], world["proxy"], world["db"]
    set_state(world["control"], "charts", "GET", TEMPLATE, "migrated")
    assert wait_until(lambda: backend_of(client) == "charts")
    moved = db.with_name("moved.sqlite3")
    db.rename(moved)
    try:
        assert wait_until(lambda: "control plane unreachable" in stderr_of(proxy))
        for _ in range(20):
            assert backend_of(client) == "charts"  # the last good table
    finally:
        moved.rename(db)
    assert wait_until(lambda: "control plane reachable again" in stderr_of(proxy))
    log = stderr_of(proxy)
    assert log.count("control plane unreachable") == 1  # once per outage
    assert "unable to open database file" in log
    set_state(world["control"], "charts", "GET", TEMPLATE, "legacy")
    assert wait_until(lambda: backend_of(client) == "legacy")


def stderr_of(proxy) -> str:
    return Path(proxy.stderr_path).read_text()
