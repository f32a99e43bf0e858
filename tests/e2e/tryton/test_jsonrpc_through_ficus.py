"""GNU Health's JSON-RPC API goes through Ficus byte for byte.

A relay between the proxy and trytond keeps every byte trytond answers; each answer the
client gets must carry exactly the body trytond sent. The calls are the ones sao makes first:
log in, then read parties with the session, on the database's path (`POST /DBNAME/`).
"""

from __future__ import annotations

import base64
import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.proxy.processes import RunningProxy, running_proxy
from tests.support.ports import LOOPBACK
from tests.support.relay import Relay
from tests.support.tryton import Trytond

pytestmark = pytest.mark.e2e


@pytest.fixture
def relayed(tmp_path: Path, trytond: Trytond) -> Iterator[tuple[RunningProxy, Relay]]:
    """A proxy whose legacy upstream is a recording relay in front of trytond."""
    relay = Relay(LOOPBACK, trytond.port)
    relay.start()
    no_plans = tmp_path / "plans"
    no_plans.mkdir()
    try:
        with running_proxy(
            tmp_path, legacy_url=f"http://{LOOPBACK}:{relay.port}", plans_dir=no_plans
        ) as proxy:
            yield proxy, relay
    finally:
        relay.stop()


def _bodies(stream: bytes) -> list[bytes]:
    """The bodies of the HTTP/1.1 answers in one connection's bytes (Content-Length framed,
    as trytond frames its JSON answers)."""
    bodies = []
    while stream:
        head, _, rest = stream.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
        assert length, head
        size = int(length.group(1))
        bodies.append(rest[:size])
        stream = rest[size:]
    return bodies


class JsonRpcClient:
    def __init__(self, port: int, database: str) -> None:
        self.connection = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
        self.path = f"/{database}/"
        self.headers = {"Content-Type": "application/json"}
        self.bodies: list[bytes] = []
        self.calls = 0

    def call(self, method: str, *params: Any) -> Any:
        self.calls += 1
        request = json.dumps({"id": self.calls, "method": method, "params": list(params)})
        self.connection.request("POST", self.path, request, self.headers)
        answer = self.connection.getresponse()
        body = answer.read()
        assert answer.status == 200, body
        assert answer.getheader("Content-Type", "").startswith("application/json")
        self.bodies.append(body)
        answered = json.loads(body)
        assert "error" not in answered, answered["error"]
        return answered["result"]

    def log_in(self, login: str, password: str) -> None:
        user_id, session = self.call("common.db.login", login, {"password": password}, "en")
        token = base64.b64encode(f"{login}:{user_id}:{session}".encode()).decode()
        self.headers["Authorization"] = f"Session {token}"


def test_a_clinicians_json_rpc_calls_reach_the_client_byte_for_byte(
    relayed: tuple[RunningProxy, Relay], trytond: Trytond, new_database
) -> None:
    proxy, relay = relayed
    client = JsonRpcClient(proxy.port, new_database("jsonrpc"))
    try:
        _errand(client, trytond.admin_password)
    finally:
        client.connection.close()
    sent_by_trytond = [body for stream in relay.answers for body in _bodies(bytes(stream))]
    assert len(client.bodies) == 4
    assert client.bodies == sent_by_trytond


def _errand(client: JsonRpcClient, password: str) -> None:
    """What sao does first: log in, read the preferences, then write and read parties.
    (GNU Health's party create expects fed_country, which sao sends as a default.)"""
    client.log_in("admin", password)
    context = client.call("model.res.user.get_preferences", True, {})
    created = client.call(
        "model.party.party.create",
        [
            {
                "name": "Grace",
                "lastname": "Synthetic",
                "is_person": True,
                "gender": "f",
                "fed_country": None,
            }
        ],
        context,
    )
    found = client.call(
        "model.party.party.search_read",
        [["lastname", "=", "Synthetic"]],
        0,
        None,
        None,
        ["name", "lastname", "gender"],
        context,
    )
    assert [(p["id"], p["name"], p["gender"]) for p in found] == [(created[0], "Grace", "f")]
