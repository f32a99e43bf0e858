"""Two bookings of one slot at the same moment: exactly one wins, on a shared SQLite file."""

from __future__ import annotations

import threading

from demo.legacy.app import create_app
from demo.legacy.db import create_legacy_engine, fetch_value
from tests.demo.legacy.client import Client
from tests.demo.legacy.conftest import SATURDAY

RACERS = 6


def test_concurrent_bookings_of_one_slot_cannot_both_succeed(db_url, clock):
    # One engine (and app) per racer, as gunicorn workers would have.
    engines = [create_legacy_engine(db_url) for _ in range(RACERS)]
    clients = [Client(create_app(engine, clock=clock)) for engine in engines]
    for client in clients:
        assert client.login("scheduler").status == 302
    barrier = threading.Barrier(RACERS)
    results: list[tuple[int, dict[str, object]]] = []
    lock = threading.Lock()

    def book(client: Client, pat_id: int) -> None:
        barrier.wait()
        response = client.post(
            "/api/appointments",
            {"PAT_ID": pat_id, "PROV_ID": 4, "APPT_DT": SATURDAY, "APPT_TM": "1030", "DUR_MIN": 30},
        )
        with lock:
            results.append((response.status, response.json()))

    threads = [threading.Thread(target=book, args=(c, i + 1)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        statuses = sorted(status for status, _ in results)
        assert statuses == [200] + [409] * (RACERS - 1)
        assert all(
            body == {"ERR": "SLOT NOT AVAILABLE", "CODE": 401} for s, body in results if s == 409
        )
        with engines[0].connect() as conn:
            booked = fetch_value(
                conn,
                "SELECT COUNT(*) FROM APPT_SCHED WHERE PROV_ID = 4 AND APPT_DT = :d",
                {"d": SATURDAY},
            )
        assert booked == 1
    finally:
        for engine in engines:
            engine.dispose()
