"""The hash chain, pure: each tampering is detected and named at its first broken link."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from migration_plans import audit_chain
from migration_plans.audit_chain import GENESIS, Break, Record, verify

KEY = b"k" * 32
T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def chain(n):
    records, prev = [], GENESIS
    for seq in range(1, n + 1):
        record = Record(
            seq=seq,
            at=T0 + timedelta(seconds=seq),
            actor="operator-olga",
            action="route.advance",
            subject="appointments",
            details={"reason": f"step {seq}", "weight": seq},
            prev_hash=prev,
            hash="",
        )
        records.append(dataclasses.replace(record, hash=audit_chain.rehash(record)))
        prev = records[-1].hash
    return records


def broken(records, digests=(), key=None) -> Break:
    found = verify(records, digests, key=key)
    assert found is not None, "the tampering went unnoticed"
    return found


def resealed(record, **changes):
    """record with changes and a hash recomputed to match (what a careful forger does)."""
    changed = dataclasses.replace(record, **changes)
    return dataclasses.replace(changed, hash=audit_chain.rehash(changed))


def test_it_accepts_an_intact_chain():
    assert verify(chain(5)) is None
    assert verify([]) is None


def test_it_names_an_edited_record():
    records = chain(5)
    records[2] = dataclasses.replace(records[2], details={"reason": "nothing to see"})
    found = broken(records)
    assert (found.kind, found.seq) == ("edited", 3)


def test_it_names_a_deleted_record():
    records = chain(5)
    del records[2]
    found = broken(records)
    assert (found.kind, found.seq) == ("deleted", 4)
    assert "between 2 and 4" in found.message


def test_it_names_an_inserted_record_even_when_later_ones_are_renumbered():
    records = chain(5)
    forged = resealed(records[1], seq=3, details={"reason": "forged"}, prev_hash=records[1].hash)
    renumbered = [dataclasses.replace(r, seq=r.seq + 1) for r in records[2:]]
    found = broken([*records[:2], forged, *renumbered])
    assert (found.kind, found.seq) == ("inserted", 3)


def test_it_names_reordered_records():
    records = chain(5)
    records[1], records[2] = records[2], records[1]
    found = broken(records)
    assert found.kind == "reordered"
    assert found.seq == 3


def test_it_detects_a_resealed_edit_through_the_next_link():
    records = chain(5)
    records[2] = resealed(records[2], details={"reason": "rewritten"})
    found = broken(records)
    assert (found.kind, found.seq) == ("deleted", 4)  # 4 links to a hash no record has


def test_it_detects_truncation_and_rewrites_with_a_signed_digest():
    records = chain(5)
    at = T0 + timedelta(minutes=1)
    digest = audit_chain.Digest(
        1, 5, records[4].hash, at, audit_chain.sign(KEY, seq=5, head_hash=records[4].hash, at=at)
    )
    assert verify(records, [digest], key=KEY) is None
    assert broken(records[:4], [digest], key=KEY).kind == "truncated"
    rewritten = [*records[:4], resealed(records[4], actor="someone-else")]
    assert broken(rewritten, [digest], key=KEY).kind == "edited"
    forged = dataclasses.replace(digest, signature="0" * 64)
    assert broken(records, [forged], key=KEY).kind == "forged-digest"


def test_it_encodes_canonically_and_refuses_short_keys_and_naive_times():
    assert audit_chain.canonical({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()
    with pytest.raises(ValueError, match="at least 32 bytes"):
        audit_chain.sign(b"short", seq=1, head_hash=GENESIS, at=T0)
    with pytest.raises(ValueError, match="timezone-aware"):
        audit_chain.format_time(datetime(2026, 1, 1))
