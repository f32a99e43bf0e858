"""Shadow evidence in memory and in the control-plane tables: bounded keys, bounded samples per
field, retention, and an outage that keeps the tallies."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine

from domain.evidence_retention import DEFAULT_RETENTION_DAYS
from domain.noise import RouteTally
from proxy.control_schema import metadata
from proxy.evidence_store import RETENTION_PASS_SECONDS, EvidenceStore, Sample
from tests.proxy.control_db import ddl_control_db, evidence_rows
from tests.support.ports import free_port

T = "/api/patients/{id:int}"


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


def tally(store, feature="patients", method="GET", template=T):
    found = store.tally(feature, method, template)
    assert found is not None
    return found


def sample(field="body.name", limit=3):
    return Sample("patients", "GET", T, field, "real", '"Name-1"', '"Name-2"', limit)


def test_tallies_are_one_row_per_route_and_window_and_round_trip(tmp_path):
    url = ddl_control_db(tmp_path / "control.sqlite3")
    engine = create_engine(url)
    store = EvidenceStore(worker="w1", clock=Clock())
    tally(store).add(["body.name"])
    tally(store).add([])
    assert store.flush(engine, {}) == 1
    engine.dispose()
    (row,), _ = evidence_rows(url)
    assert (row["worker"], row["feature"], row["template"]) == ("w1", "patients", T)
    read = RouteTally.from_dict(row["tally"])
    assert (read.compared, dict(read.raw)) == (2, {"body.name": 1})


def test_new_keys_beyond_the_bound_are_dropped_and_counted():
    store = EvidenceStore(worker="w1", clock=Clock(), max_keys=2)
    assert store.tally("a", "GET", "/a") is not None
    assert store.tally("b", "GET", "/b") is not None
    assert store.tally("c", "GET", "/c") is None
    assert (len(store), store.dropped_keys) == (2, 1)


def test_samples_stop_at_the_limit_per_field_counting_what_the_table_holds(tmp_path):
    url = ddl_control_db(tmp_path / "control.sqlite3")
    engine = create_engine(url)
    clock = Clock()
    first, second = (EvidenceStore(worker=w, clock=clock) for w in ("w1", "w2"))
    for _ in range(2):
        first.add_sample(sample())
    first.add_sample(sample("body.ward"))
    first.flush(engine, {})
    for _ in range(4):
        second.add_sample(sample())
    second.flush(engine, {})
    second.add_sample(sample())  # known full now: not even queued
    engine.dispose()
    _, rows = evidence_rows(url)
    assert sorted(r["field"] for r in rows) == ["body.name"] * 3 + ["body.ward"]
    assert second.dropped_samples == 4


def test_pending_samples_are_bounded():
    store = EvidenceStore(worker="w1", clock=Clock(), max_pending=2)
    for n in range(5):
        store.add_sample(sample(f"body.f{n}"))
    assert (len(store._samples), store.dropped_samples) == (2, 3)


@pytest.fixture
def one_sample(tmp_path):
    """(url, engine, clock, store) with one sample of `patients` written, kept for 1 day."""
    url = ddl_control_db(tmp_path / "control.sqlite3")
    engine = create_engine(url)
    clock = Clock()
    store = EvidenceStore(worker="w1", clock=clock)
    store.add_sample(sample())
    store.flush(engine, {"patients": 1})
    yield url, engine, clock, store
    engine.dispose()


def test_samples_older_than_the_retention_are_deleted_by_the_flusher(one_sample):
    url, engine, clock, store = one_sample
    clock.now += 2 * 86_400 + RETENTION_PASS_SECONDS
    store.add_sample(sample("body.ward"))
    store.flush(engine, {"patients": 1})
    _, rows = evidence_rows(url)
    assert [r["field"] for r in rows] == ["body.ward"]


def test_samples_of_a_feature_no_plan_declares_go_after_the_default_retention(one_sample):
    url, engine, clock, store = one_sample
    clock.now += (DEFAULT_RETENTION_DAYS + 1) * 86_400
    store.flush(engine, {"patients": 365})
    assert len(evidence_rows(url)[1]) == 1  # its plan now keeps them a year
    clock.now += RETENTION_PASS_SECONDS
    store.flush(engine, {})  # the plan is gone
    assert evidence_rows(url)[1] == []


def test_tallies_older_than_the_retention_are_deleted_by_the_flusher(one_sample):
    """Every worker appends a row per route every window: an operator's table must not grow
    forever. Old windows go after the plan's retention, a gone plan's after the default."""
    url, engine, clock, store = one_sample
    tally(store).add(["body.name"])
    tally(store, feature="gone").add([])
    store.flush(engine, {"patients": 1})
    clock.now += 2 * 86_400 + RETENTION_PASS_SECONDS
    tally(store).add([])
    store.flush(engine, {"patients": 1})
    rows, _ = evidence_rows(url)
    assert sorted(r["feature"] for r in rows) == ["gone", "patients"]
    assert [r["tally"]["raw"] for r in rows if r["feature"] == "patients"] == [{}]  # the new one
    clock.now += DEFAULT_RETENTION_DAYS * 86_400
    store.flush(engine, {"patients": 365})
    assert [r["feature"] for r in evidence_rows(url)[0]] == ["patients"]


def test_an_outage_keeps_the_tallies_for_the_next_flush(tmp_path):
    down = create_engine(f"postgresql+psycopg://ficus@127.0.0.1:{free_port()}/control")
    store = EvidenceStore(worker="w1", clock=Clock())
    tally(store).add(["body.name"])
    store.add_sample(sample())
    assert store.flush(down, {}) == 0
    down.dispose()
    assert store.dropped_samples == 1
    url = ddl_control_db(tmp_path / "control.sqlite3")
    engine = create_engine(url)
    tally(store).add([])
    assert store.flush(engine, {}) == 1
    engine.dispose()
    (row,), _ = evidence_rows(url)
    assert json.loads(json.dumps(row["tally"]))["compared"] == 2


@pytest.mark.databases
def test_tallies_samples_and_retention_work_on_a_server_database(legacy_database_url):
    engine = create_engine(legacy_database_url)
    try:
        metadata.create_all(engine)
        clock = Clock()
        store = EvidenceStore(worker="w1", clock=clock)
        tally(store).add(["body.name"])
        for _ in range(4):
            store.add_sample(sample())
        assert store.flush(engine, {"patients": 1}) == 1
        clock.now += 2 * 86_400 + RETENTION_PASS_SECONDS
        store.add_sample(sample("body.ward"))
        tally(store).add([])
        store.flush(engine, {"patients": 1})
    finally:
        engine.dispose()
    (row,), samples = evidence_rows(legacy_database_url)  # the old window's tally is gone
    assert (row["tally"]["compared"], row["tally"]["raw"]) == (1, {})
    assert [s["field"] for s in samples] == ["body.ward"]
