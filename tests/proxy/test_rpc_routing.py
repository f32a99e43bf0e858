"""RPC-aware routing through the real proxy process: one trytond-style endpoint (`POST /DB/`),
a read RPC method moved to its service, the other methods left on legacy; the access log and
the route stats name the method, never its parameters.

The clinician's client sends what tryton sends: a JSON-RPC object to `POST /tryton/`, here once
gzip-encoded. A shadowed XML-RPC write gets no copy (no dry-run: writes only with
`include_writes`), while a shadowed read does.
"""

from __future__ import annotations

import gzip
import json
import time

import httpx
import pytest

from domain.identity import DRY_RUN_HEADER
from tests.proxy.processes import running_proxy
from tests.support.backends import recording_backend
from tests.support.ports import free_port
from tests.support.prometheus import scrape, value

KEY = "an-identity-key-for-tests-only-0123456789"
SECRET_PARAM = "Synthetic-Doe-4711"  # a parameter that must never reach a log or a metric
PLAN = """\
feature: parties
owner: Test
upstream:
  name: parties
  instances: [{service}]
legacy_tables: []
routes:
  - method: POST
    path: /{{db}}/
    phase: migrated
    rpc: {{protocol: jsonrpc, method: model.party.party.search_read, class: read}}
  - method: POST
    path: /{{db}}/
    phase: shadow
    rpc: {{protocol: xmlrpc, method: 'model.party.address.*', class: read}}
  - method: POST
    path: /{{db}}/
    phase: shadow
    rpc: {{protocol: xmlrpc, method: model.party.party.write, class: write}}
"""
# A second feature whose shadow includes writes: its write RPC copies carry a dry-run token.
WARDS_PLAN = """\
feature: wards
owner: Test
upstream:
  name: wards
  instances: [{service}]
legacy_tables: []
shadow: {{include_writes: true}}
routes:
  - method: POST
    path: /soap/wards
    phase: shadow
    rpc: {{protocol: soap, method: 'urn:his:AdmitPatient', class: write}}
  - method: POST
    path: /soap/wards
    phase: shadow
    rpc: {{protocol: soap, method: 'urn:his:ListBeds', class: read}}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("rpc-routing")
    plans = workdir / "plans"
    plans.mkdir()
    metrics_port = free_port()
    with recording_backend("legacy") as legacy, recording_backend("parties") as service:
        (plans / "parties.yaml").write_text(PLAN.format(service=service.url))
        (plans / "wards.yaml").write_text(WARDS_PLAN.format(service=service.url))
        with (
            running_proxy(
                workdir,
                legacy_url=legacy.url,
                plans_dir=plans,
                env={"FICUS_IDENTITY_KEY": KEY},
                extra_args=["--metrics-port", str(metrics_port)],
            ) as proxy,
            httpx.Client(base_url=proxy.url, timeout=10) as client,
        ):
            yield {
                "proxy": proxy,
                "client": client,
                "legacy": legacy,
                "service": service,
                "metrics": f"http://127.0.0.1:{metrics_port}/metrics",
            }


def jsonrpc(method: str) -> bytes:
    return json.dumps(
        {"id": 1, "method": method, "params": [[["name", "=", SECRET_PARAM]]]}
    ).encode()


def xmlrpc(method: str) -> bytes:
    return (
        f"<?xml version='1.0'?><methodCall><methodName>{method}</methodName><params><param>"
        f"<value><string>{SECRET_PARAM}</string></value></param></params></methodCall>"
    ).encode()


def post(world, body: bytes, kind: str = "application/json", **headers: str) -> httpx.Response:
    world["legacy"].clear()
    world["service"].clear()
    client: httpx.Client = world["client"]
    return client.post("/tryton/", content=body, headers={"Content-Type": kind, **headers})


def test_a_read_rpc_method_goes_to_its_service_and_a_write_stays_on_legacy(world):
    read = post(world, jsonrpc("model.party.party.search_read"))
    assert read.json()["backend"] == "parties"
    (received,) = world["service"].requests
    assert received.body == jsonrpc("model.party.party.search_read")  # forwarded untouched
    assert world["legacy"].requests == []
    write = post(world, jsonrpc("model.party.party.write"))
    assert write.json()["backend"] == "legacy"
    assert world["service"].requests == []


def test_a_gzip_encoded_call_is_routed_by_its_method(world):
    body = gzip.compress(jsonrpc("model.party.party.search_read"))
    response = post(world, body, **{"Content-Encoding": "gzip"})
    assert response.json()["backend"] == "parties"
    assert world["service"].requests[0].body == body


def test_the_access_log_and_stats_name_the_method_and_never_its_parameters(world):
    read = post(world, jsonrpc("model.party.party.search_read"))
    write = post(world, jsonrpc("model.party.party.write"))
    proxy = world["proxy"]
    line = proxy.log_line(read.headers["X-Ficus-Request-Id"])
    assert line["route"] == "/{db}/ jsonrpc:model.party.party.search_read"
    assert proxy.log_line(write.headers["X-Ficus-Request-Id"])["route"] == "/**"  # unmatched
    assert SECRET_PARAM not in proxy.access_log.read_text()
    page = scrape(world["metrics"])
    template = "/{db}/ jsonrpc:model.party.party.search_read"
    assert value(page, "ficus_proxy_requests_total", template=template, side="service") >= 1
    assert SECRET_PARAM not in page


def wait_for(predicate, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_in_shadow_a_read_rpc_is_copied_and_a_write_rpc_is_not(world):
    read = post(world, xmlrpc("model.party.address.search"), "text/xml")
    assert read.json()["backend"] == "legacy"
    assert wait_for(lambda: len(world["service"].requests) == 1)  # the copy
    write = post(world, xmlrpc("model.party.party.write"), "text/xml")
    assert write.json()["backend"] == "legacy"
    line = world["proxy"].log_line(write.headers["X-Ficus-Request-Id"])
    assert line["route"] == "/{db}/ xmlrpc:model.party.party.write"
    # A read copy sent after the write arrives after any copy of the write would have.
    post(world, xmlrpc("model.party.address.read"), "text/xml")
    assert wait_for(lambda: len(world["service"].requests) == 1)
    assert "model.party.address.read" in world["service"].requests[0].body.decode()


def test_a_shadowed_write_rpc_is_copied_only_with_a_dry_run_token_and_a_read_without(world):
    world["legacy"].clear()
    world["service"].clear()
    client = world["client"]
    for action in ("urn:his:AdmitPatient", "urn:his:ListBeds"):
        response = client.post(
            "/soap/wards",
            content=b"<s:Envelope/>",
            headers={"Content-Type": "text/xml", "SOAPAction": f'"{action}"'},
        )
        assert response.json()["backend"] == "legacy"
    assert wait_for(lambda: len(world["service"].requests) == 2)
    by_action = {r.header("SOAPAction"): r for r in world["service"].requests}
    assert by_action['"urn:his:AdmitPatient"'].header(DRY_RUN_HEADER) is not None
    assert by_action['"urn:his:ListBeds"'].header(DRY_RUN_HEADER) is None
