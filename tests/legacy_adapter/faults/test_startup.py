"""Finding 12: `sync run` started while a database is unreachable waits for it, with backoff,
and says so; once the database answers, it applies what waited. (It used to exit at once.)"""

from __future__ import annotations

import shutil
import time

import pytest
from sqlalchemy import make_url

from tests.support.relay import Relay
from tests.support.sync_stack import SyncStack, eventually

pytestmark = pytest.mark.e2e


def test_it_waits_for_a_legacy_database_that_is_not_there_yet(stack, tmp_path):
    stack.prepare(appointments=3)
    stack.legacy_edit(1, STATUS_CD="C")
    stack.legacy.dispose()
    real = tmp_path / "legacy.sqlite3"
    away = tmp_path / "mount" / "legacy.sqlite3"  # a volume not mounted yet: no directory

    worker = stack.start_worker(LEGACY_DATABASE_URL=f"sqlite:///{away}")
    eventually(
        "the worker says it waits",
        lambda: "waiting for the databases at start-up" in stack.worker_log(),
    )
    assert worker.poll() is None  # it did not exit
    away.parent.mkdir()
    shutil.copyfile(real, away)  # the volume arrives

    moved = SyncStack(tmp_path, legacy_url=f"sqlite:///{away}")
    try:
        eventually(
            "the waiting change is applied",
            lambda: stack.service_row("appointments", 1)["status"] == "cancelled",
        )
        assert moved.pending_changes() == 0
    finally:
        moved.legacy.dispose()
        for engine in moved.services.values():
            engine.dispose()


@pytest.mark.databases
def test_it_waits_for_a_database_server_that_is_down(server_stack):
    stack = server_stack
    stack.prepare(appointments=3)
    stack.legacy_edit(2, STATUS_CD="N")
    url = make_url(stack.legacy_url)
    relay = Relay(url.host or "127.0.0.1", url.port or 0)  # not listening: the server is down
    worker = stack.start_worker(
        LEGACY_DATABASE_URL=url.set(port=relay.port).render_as_string(hide_password=False)
    )
    try:
        eventually(
            "the worker says it waits",
            lambda: "waiting for the databases at start-up" in stack.worker_log(),
        )
        time.sleep(0.5)  # it keeps waiting (not a timing assertion: it must not have exited)
        assert worker.poll() is None
        relay.start()  # the server comes back
        eventually(
            "the waiting change is applied",
            lambda: stack.service_row("appointments", 2)["status"] == "no_show",
        )
        assert "the databases answer; starting" in stack.worker_log()
    finally:
        stack.stop_worker()
        relay.stop()
