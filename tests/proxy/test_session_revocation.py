"""Issue 12, point 9: a closed legacy session stops working through the proxy within a second,
and the proxy reads the session cookie as the legacy app reads it.

Real processes on loopback: the demo legacy app (`python -m demo.legacy serve`), the
appointments and patients services (`runservice`) and `runproxy`, all on one SQLite legacy
database; every write route is served by the services. A clinician's session is closed the
three ways legacy closes one (a logout through the proxy, the user deactivated, the expiry cut
short in USER_SESSION); then a chart read, a booking and a cancel by that session must get the
legacy 401 from the proxy, as the legacy app answers, with nothing written. The proxy used to
remember a session for 5 s after its lookup.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from tests.extracted.identities import KEY
from tests.proxy.processes import RunningProxy, running_proxy
from tests.support.ownership import plans_with_writes_in
from tests.support.ports import LOOPBACK, free_port, wait_for_port
from tests.support.sync_stack import SyncStack

pytestmark = pytest.mark.e2e

NOT_LOGGED_IN = {"ERR": "NOT LOGGED IN", "CODE": 101}
# Revocation must take effect within this long; requests sent later must all be refused.
WITHIN_SECONDS = 1.0
BOOKING = {"PAT_ID": 1, "PROV_ID": 3, "APPT_DT": "20261230", "DUR_MIN": 15}


@dataclass
class World:
    stack: SyncStack
    proxy: RunningProxy
    legacy_url: str

    def new_clinician(self) -> tuple[int, str]:
        """A fresh active CLIN user with a live 8-hour session: (user id, SESSID)."""
        user_id = 100 + secrets.randbelow(10**6)
        session_id = secrets.token_hex(32)
        expires = (datetime.now(UTC) + timedelta(hours=8)).strftime("%Y%m%d%H%M%S")
        self.stack.legacy_sql(
            "INSERT INTO APP_USER (USER_ID, LOGIN_NM, PWD_HASH, FULL_NM, ROLE_CD, PROV_ID,"
            " ACTIVE_FLG) VALUES (:u, :login, 'x', 'TEST, CLINICIAN', 'CLIN', NULL, 'Y')",
            u=user_id,
            login=f"clin{user_id}",
        )
        self.stack.legacy_sql(
            "INSERT INTO USER_SESSION (SESS_ID, USER_ID, ROLE_CD, EXPIRES_TS)"
            " VALUES (:s, :u, 'CLIN', :e)",
            s=session_id,
            u=user_id,
            e=expires,
        )
        return user_id, session_id


def send(base: str, method: str, path: str, cookie: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Cookie": cookie, "Content-Type": "application/json"}
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    directory = tmp_path_factory.mktemp("revocation")
    plans = plans_with_writes_in(directory / "plans", "migrated")
    # No read-your-writes pins: a booking would send the session's reads to legacy for 5 s.
    for source in plans.glob("*.yaml"):
        plan = yaml.safe_load(source.read_text())
        plan["pin_reads_after_write_seconds"] = 0
        source.write_text(yaml.safe_dump(plan, sort_keys=False))
    stack = SyncStack(directory, features=("appointments", "patients"), plans_dir=plans)
    legacy: subprocess.Popen[bytes] | None = None
    try:
        stack.prepare(appointments=3)
        stack.start_service("appointments")
        stack.start_service("patients")
        port = free_port()
        with (directory / "legacy.log").open("wb") as log:
            legacy = subprocess.Popen(
                [sys.executable, "-m", "demo.legacy", "--database-url", stack.legacy_url,
                 "serve", "--port", str(port), "--workers", "1"],
                env={**os.environ, "HOME": str(directory)}, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_for_port(port, process=legacy, timeout=60)
        legacy_url = f"http://{LOOPBACK}:{port}"
        # Its first answer is slow (imports, engine): not inside a test's window.
        assert send(legacy_url, "GET", "/login", "")[0] == 200
        env = {
            "FICUS_IDENTITY_KEY": KEY,
            "FICUS_UPSTREAM_APPOINTMENTS": stack.urls["appointments"],
            "FICUS_UPSTREAM_PATIENTS": stack.urls["patients"],
            "FICUS_CONTROL_DB_URL": "",
            "FICUS_DB_DEFAULT_URL": "",
        }
        with running_proxy(
            directory / "proxy",
            legacy_url=legacy_url,
            plans_dir=plans,
            legacy_db_url=stack.legacy_url,
            env=env,
        ) as proxy:
            world = World(stack, proxy, legacy_url)
            # The proxy's first session lookup, outside any test's window as well.
            _, warm = world.new_clinician()
            assert send(proxy.url, "GET", "/api/patients/1", f"SESSID={warm}")[0] == 200
            yield world
    finally:
        if legacy is not None and legacy.poll() is None:
            legacy.send_signal(signal.SIGTERM)
            legacy.wait(timeout=30)
        stack.close()


def log_out(world: World, user_id: int, session_id: str) -> None:
    # Through the proxy, as a browser logs out: the legacy app deletes the USER_SESSION row.
    send(world.proxy.url, "POST", "/logout", f"SESSID={session_id}")  # 302 to /login
    count = "SELECT COUNT(*) FROM USER_SESSION WHERE SESS_ID = :s"
    assert world.stack.legacy_sql(count, s=session_id)[0][0] == 0


def deactivate(world: World, user_id: int, session_id: str) -> None:
    world.stack.legacy_sql("UPDATE APP_USER SET ACTIVE_FLG = 'N' WHERE USER_ID = :u", u=user_id)


def cut_expiry(world: World, user_id: int, session_id: str) -> None:
    past = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y%m%d%H%M%S")
    world.stack.legacy_sql(
        "UPDATE USER_SESSION SET EXPIRES_TS = :e WHERE SESS_ID = :s", e=past, s=session_id
    )


def the_three(base: str, cookie: str, slot: str) -> list[tuple[int, Any]]:
    """A chart read, a booking and a cancel by one session."""
    return [
        send(base, "GET", "/api/patients/1", cookie),
        send(base, "POST", "/api/appointments", cookie, {**BOOKING, "APPT_TM": slot}),
        send(base, "POST", "/api/appointments/2/cancel", cookie),
    ]


def written(world: World) -> tuple[Any, ...]:
    stack = world.stack
    return (
        stack.service_sql("appointments", "SELECT COUNT(*) FROM appointments_appointment")[0][0],
        stack.service_row("appointments", 2)["status"],
        stack.service_sql("appointments", "SELECT COUNT(*) FROM ficus_outbox")[0][0],
    )


@pytest.mark.parametrize("close", [log_out, deactivate, cut_expiry])
def test_a_closed_session_is_refused_by_the_proxy_within_a_second(
    world: World, close: Callable[[World, int, str], None]
) -> None:
    user_id, session_id = world.new_clinician()
    cookie = f"SESSID={session_id}"
    # The proxy has just looked the session up, and remembers it.
    assert send(world.proxy.url, "GET", "/api/patients/1", cookie)[0] == 200
    before = written(world)

    close(world, user_id, session_id)
    closed_at = time.monotonic()
    while time.monotonic() < closed_at + WITHIN_SECONDS:
        if send(world.proxy.url, "GET", "/api/patients/1", cookie)[0] == 401:
            break
        time.sleep(0.05)

    # Every request sent from now on is refused, exactly as the legacy app refuses it.
    through_proxy = the_three(world.proxy.url, cookie, "1100")
    from_legacy = the_three(world.legacy_url, cookie, "1100")
    assert through_proxy == from_legacy == [(401, NOT_LOGGED_IN)] * 3
    assert written(world) == before


@pytest.mark.parametrize(
    ("cookie", "slot"),
    [
        ("SESSID={live}; SESSID={other}", "1200"),
        ("SESSID= {live} ", "1215"),
    ],
    ids=["two-sessid-cookies", "blanks-around-the-value"],
)
def test_odd_cookie_forms_are_admitted_as_legacy_admits_them(
    world: World, cookie: str, slot: str
) -> None:
    _, live = world.new_clinician()
    header = cookie.format(live=live, other=secrets.token_hex(32))

    legacy_read = send(world.legacy_url, "GET", "/api/patients/1", header)
    read = send(world.proxy.url, "GET", "/api/patients/1", header)
    booking = send(
        world.proxy.url, "POST", "/api/appointments", header, {**BOOKING, "APPT_TM": slot}
    )
    assert booking[0] == 200, booking
    cancel = send(
        world.proxy.url, "POST", f"/api/appointments/{booking[1]['APPT_ID']}/cancel", header
    )

    assert (legacy_read[0], legacy_read[1]["PAT_ID"]) == (200, 1)
    assert (read[0], read[1]["PAT_ID"]) == (200, 1)
    assert booking[1]["RESULT"] == cancel[1]["RESULT"] == "OK"
    assert cancel[0] == 200
