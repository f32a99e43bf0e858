"""Two clinicians booking the same slot at the same moment: exactly one gets it.

Real processes: the service under gunicorn with several workers on a SQLite file (filled by
the real `sync backfill`), and concurrent HTTP bookings from threads. The provider's booking
lock row serializes the slot check and the insert, so the others get the legacy 409, and the
ids they did get are distinct ids from LEGACY_SEQ.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.extracted.appointments.facts import facts_of
from tests.extracted.appointments.world import query
from tests.extracted.core.test_runservice import MANAGE, manage, service_env
from tests.extracted.identities import headers_for
from tests.support.ports import LOOPBACK, free_port, wait_for_port

pytestmark = pytest.mark.e2e

ATTEMPTS = 8


@pytest.fixture
def service(tmp_path, golden_legacy_db):
    env = service_env(tmp_path, FICUS_SERVICE="appointments")
    shutil.copyfile(golden_legacy_db, tmp_path / "legacy.sqlite3")
    for args in (("migrate", "--database", "appointments", "-v", "0"),
                 ("sync", "backfill", "appointments")):  # fmt: skip
        done = manage(env, *args)
        assert done.returncode == 0, done.stderr
    port = free_port()
    log = (tmp_path / "service.log").open("w")
    process = subprocess.Popen(
        [sys.executable, MANAGE, "runservice", "appointments", "--port", str(port),
         "--workers", "4"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for_port(port, process=process)
        yield f"http://{LOOPBACK}:{port}", tmp_path
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={**headers, "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_only_one_of_many_concurrent_bookings_of_a_slot_succeeds(service, golden_legacy_db):
    base, directory = service
    f = facts_of(golden_legacy_db)
    body = json.dumps({"PAT_ID": f.patient, "PROV_ID": f.booked_prov, "APPT_DT": f.booked_dt,
                       "APPT_TM": f.free_tm, "DUR_MIN": 30}).encode()  # fmt: skip
    personas = ["clinician", "scheduler", "admin"]

    with ThreadPoolExecutor(ATTEMPTS) as pool:
        answers = list(pool.map(
            lambda i: post(f"{base}/api/appointments", body,
                           headers_for(personas[i % 3], request_id=f"rid-{i}",
                                       method="POST", target="/api/appointments")),
            range(ATTEMPTS),
        ))  # fmt: skip

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] + [409] * (ATTEMPTS - 1)
    assert {b for s, b in answers if s == 409} == {b'{"ERR": "SLOT NOT AVAILABLE", "CODE": 401}'}
    rows = query(
        directory / "appointments.sqlite3",
        "SELECT COUNT(*) FROM appointments_appointment WHERE provider_id = ? AND status = 'booked'"
        " AND duration_minutes = 30 AND patient_id = ? AND reason = ''",
        f.booked_prov,
        f.patient,
    )
    assert rows == [(1,)]
    outbox = query(directory / "appointments.sqlite3", "SELECT COUNT(*) FROM ficus_outbox")
    assert outbox == [(1,)]
