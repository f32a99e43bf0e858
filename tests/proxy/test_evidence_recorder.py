"""The recorder: a queue bounded in exchanges and bytes that never blocks, a thread that
compares and flushes, and no sample without an evidence key."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine

from domain.deidentify import Deidentifier
from proxy.evidence_recorder import EvidenceRecorder, evidence_deidentifier
from proxy.metrics import ProxyMetrics
from tests.proxy.control_db import ddl_control_db, evidence_rows
from tests.proxy.evidence_support import KEY, exchange, reply, settings

PATIENT = {"id": 3, "name": "Jane Testperson"}


@pytest.fixture
def engine(tmp_path):
    url = ddl_control_db(tmp_path / "control.sqlite3")
    engine = create_engine(url)
    yield engine, url
    engine.dispose()


def recorder_for(engine, deidentifier=None, **bounds):
    return EvidenceRecorder(
        engine,
        lambda: {"patients": settings()},
        deidentifier,
        max_body_bytes=10_000,
        **bounds,
    )


def test_a_full_queue_drops_and_counts_and_never_blocks(engine):
    recorder = recorder_for(engine[0], max_queue=3)
    offered = [recorder.offer(exchange(reply(PATIENT), reply(PATIENT))) for _ in range(5)]
    assert offered == [True, True, True, False, False]
    assert (recorder.queued, recorder.dropped) == (3, 2)


def test_the_queue_is_bounded_in_bytes_too(engine):
    recorder = recorder_for(engine[0], max_queue_bytes=150)
    big = reply({"text": "x" * 60})
    assert recorder.offer(exchange(big, reply(PATIENT)))
    assert not recorder.offer(exchange(big, reply(PATIENT)))
    recorder.drain()  # taken off the queue: its bytes are free again
    assert recorder.offer(exchange(big, reply(PATIENT)))


def test_each_exchange_is_counted_for_prometheus_by_its_result(engine):
    metrics = ProxyMetrics()
    recorder = EvidenceRecorder(
        engine[0], lambda: {"patients": settings()}, None, max_body_bytes=10_000, metrics=metrics
    )
    recorder.offer(exchange(reply(PATIENT), reply(PATIENT)))
    recorder.offer(exchange(reply(PATIENT), reply({**PATIENT, "name": "Jane Otherperson"})))
    recorder.offer(exchange(reply(PATIENT), None))  # a failed copy
    recorder.drain()
    shadow = metrics.snapshot().shadow
    assert {result: count for (_, _, result), count in shadow.items()} == {
        "match": 1,
        "difference": 1,
        "error": 1,
    }
    assert {feature for feature, _, _ in shadow} == {"patients"}


def test_drained_exchanges_are_compared_flushed_and_sampled_de_identified(engine):
    recorder = recorder_for(engine[0], Deidentifier(KEY))
    recorder.offer(exchange(reply(PATIENT), reply({**PATIENT, "name": "Jane Otherperson"})))
    recorder.offer(exchange(reply(PATIENT), None))  # a failed copy: not compared
    recorder.drain()
    assert recorder.compared == 1
    (tally,), (sample,) = evidence_rows(engine[1])
    assert (tally["tally"]["compared"], tally["tally"]["raw"]) == (1, {"body.name": 1})
    assert "Jane" not in sample["legacy_value"] + sample["other_value"]


def test_without_an_evidence_key_differences_are_counted_but_never_sampled(engine):
    assert evidence_deidentifier({}) is None
    with pytest.raises(ValueError, match="hex"):
        evidence_deidentifier({"FICUS_EVIDENCE_KEY": "not hex"})
    recorder = recorder_for(engine[0], None)
    recorder.offer(exchange(reply(PATIENT), reply({**PATIENT, "name": "Jane Otherperson"})))
    recorder.drain()
    (tally,), samples = evidence_rows(engine[1])
    assert tally["tally"]["raw"] == {"body.name": 1}
    assert samples == []


def test_the_thread_compares_what_is_offered_and_flushes_on_stop(engine):
    recorder = recorder_for(engine[0], interval=0.05)
    recorder.start()
    try:
        for _ in range(3):
            recorder.offer(exchange(reply(PATIENT), reply(PATIENT)))
        done = threading.Event()
        for _ in range(200):
            if recorder.compared == 3:
                break
            done.wait(0.02)
    finally:
        recorder.stop()
    tallies, _ = evidence_rows(engine[1])
    assert sum(t["tally"]["compared"] for t in tallies) == 3
