"""Issue 15: with `legacy_session: basic`, a proxy process admits a Basic user the legacy app
knows, refuses an outsider with the service's legacy 401, and refuses a user the legacy app
revokes soon after (polled, under a generous deadline: the bound itself is proven on an
injected clock, tests/proxy/test_legacy_sessions.py). Real processes on loopback: `runproxy`,
the patients service (`runservice`) and a tiny legacy app that checks Basic and answers
who-am-I (tests/support/login_legacy.py). No credential may reach a log.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.extracted.identities import KEY
from tests.proxy.processes import RunningProxy, running_proxy
from tests.support.login_legacy import NOT_LOGGED_IN, LoginLegacy, basic, login_legacy
from tests.support.ownership import plans_with_writes_in
from tests.support.sync_stack import SyncStack

pytestmark = pytest.mark.e2e

# Generous: a loaded 2-core machine; the proxy's own bound is half a second after the lookup.
DEADLINE_SECONDS = 30.0
SECTION = {
    "credential": "basic",
    "whoami": {"path": "/whoami", "user_id": "user.id", "login": "user.login", "role": "user.role"},
}


@dataclass
class World:
    proxy: RunningProxy
    legacy: LoginLegacy


def chart(world: World, authorization: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        world.proxy.url + "/api/patients/1", headers={"Authorization": authorization}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    directory = tmp_path_factory.mktemp("legacy-basic")
    plans = plans_with_writes_in(directory / "plans", "legacy")
    source = plans / "patients.yaml"
    plan = yaml.safe_load(source.read_text())
    plan["legacy_session"] = SECTION
    source.write_text(yaml.safe_dump(plan, sort_keys=False))
    stack = SyncStack(directory, features=("patients",), plans_dir=plans)
    try:
        stack.prepare()
        stack.start_service("patients")
        env = {
            "FICUS_IDENTITY_KEY": KEY,
            "FICUS_UPSTREAM_PATIENTS": stack.urls["patients"],
            "FICUS_CONTROL_DB_URL": "",
            "FICUS_DB_DEFAULT_URL": "",
        }
        with (
            login_legacy() as legacy,
            running_proxy(
                directory / "proxy",
                legacy_url=legacy.url,
                plans_dir=plans,
                legacy_db_url=stack.legacy_url,
                env=env,
            ) as proxy,
        ):
            yield World(proxy, legacy)
    finally:
        stack.close()


def test_a_basic_user_is_admitted_an_outsider_refused_and_a_revoked_user_soon_refused(world):
    clinician = world.legacy.add("clinician")
    authorization = basic(clinician)
    status, body = chart(world, authorization)
    assert (status, body["PAT_ID"]) == (200, 1)
    # The outsider guessing a password gets the legacy 401, as a missing session does.
    assert chart(world, basic(clinician, "guess")) == (401, NOT_LOGGED_IN)

    world.legacy.revoke("clinician")
    refused = False
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not refused and time.monotonic() < deadline:
        refused = chart(world, authorization) == (401, NOT_LOGGED_IN)
        time.sleep(0.05)
    assert refused
    assert chart(world, authorization) == (401, NOT_LOGGED_IN)  # and it stays refused

    logs = world.proxy.access_log.read_text() + world.proxy.stderr_path.read_text()
    assert '"status":401' in logs
    for secret in (clinician.password, authorization.split()[1]):
        assert secret not in logs
