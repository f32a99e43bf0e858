"""The audit log's hash chain: canonical encoding, hashing, verification, digests. Pure.

Each record's hash is SHA-256 over a canonical JSON encoding (sorted keys, no spaces, UTF-8,
times as ISO 8601 UTC with microseconds) of its seq, time, actor, action, subject, details and
the previous record's hash. Changing any of them, or the order, breaks a link.

`verify` walks the records in seq order and names the first broken link. It checks the link
(prev_hash) before the record's own hash, so it can tell the tamperings apart:

- prev_hash names no record at all        -> the record before it was *deleted*;
- prev_hash names the record two back      -> the record just before it was *inserted*;
- prev_hash names a record further on      -> the records were *reordered*;
- the link holds but the hash does not     -> the record was *edited* (content or seq).

A signed digest (HMAC-SHA256 of seq, head hash and time, key from the environment) pins the
head: truncating the log, or rewriting the whole chain with fresh hashes, contradicts it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

GENESIS: Final = "0" * 64
MIN_KEY_BYTES: Final = 32


@dataclass(frozen=True, slots=True)
class Record:
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Digest:
    id: int
    seq: int
    head_hash: str
    at: datetime
    signature: str


@dataclass(frozen=True, slots=True)
class Break:
    """The first broken link: which record, what kind of tampering, and a sentence for people."""

    seq: int
    kind: str  # edited, deleted, inserted, reordered, truncated, forged-digest
    message: str


def format_time(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical(value: Mapping[str, Any]) -> bytes:
    """The one byte string a mapping encodes to; floats must be finite (JSON has no inf)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def record_hash(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any],
    prev_hash: str,
) -> str:
    body = {
        "seq": seq,
        "at": format_time(at),
        "actor": actor,
        "action": action,
        "subject": subject,
        "details": details,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical(body)).hexdigest()


def rehash(record: Record) -> str:
    return record_hash(
        seq=record.seq,
        at=record.at,
        actor=record.actor,
        action=record.action,
        subject=record.subject,
        details=record.details,
        prev_hash=record.prev_hash,
    )


def verify(
    records: Sequence[Record], digests: Sequence[Digest] = (), *, key: bytes | None = None
) -> Break | None:
    """The first broken link in records (sorted by seq), then any digest they contradict.

    With key, each digest's signature is checked too (a digest forged to match a rewrite)."""
    by_hash = {r.hash: position for position, r in enumerate(records)}
    previous = GENESIS
    for position, record in enumerate(records):
        if record.prev_hash != previous:
            return _classify_link(records, position, by_hash)
        if rehash(record) != record.hash:
            return Break(
                record.seq,
                "edited",
                f"record {record.seq} was edited: its content no longer matches its hash",
            )
        if record.seq != position + 1:
            return Break(
                record.seq,
                "edited",
                f"record {record.seq} is at position {position + 1}: its seq was changed",
            )
        previous = record.hash
    return _check_digests(records, digests, key)


def _classify_link(records: Sequence[Record], position: int, by_hash: Mapping[str, int]) -> Break:
    record = records[position]
    target = by_hash.get(record.prev_hash)
    if record.prev_hash == GENESIS and position > 0:
        target = -1
    if target is None:
        before = records[position - 1].seq if position else 0
        return Break(
            record.seq,
            "deleted",
            f"a record between {before} and {record.seq} was deleted (or edited and re-sealed): "
            f"record {record.seq} links to a record that no longer exists",
        )
    if target == position - 2 or (target == -1 and position == 1):
        inserted = records[position - 1]
        return Break(
            inserted.seq,
            "inserted",
            f"record {inserted.seq} was inserted: record {record.seq} links past it to the "
            "record before it",
        )
    return Break(
        record.seq,
        "reordered",
        f"records were reordered: record {record.seq} links to "
        f"{'the start of the log' if target == -1 else f'record {records[target].seq}'}, "
        f"not to record {records[position - 1].seq if position else 'none'}",
    )


def _check_digests(
    records: Sequence[Record], digests: Sequence[Digest], key: bytes | None
) -> Break | None:
    by_seq = {r.seq: r for r in records}
    for digest in digests:
        if key is not None and not signature_ok(key, digest):
            return Break(
                digest.seq,
                "forged-digest",
                f"digest {digest.id} (record {digest.seq}) has a bad signature: it was not "
                "signed with FICUS_AUDIT_KEY",
            )
        record = by_seq.get(digest.seq)
        if record is None:
            return Break(
                digest.seq,
                "truncated",
                f"record {digest.seq}, signed by digest {digest.id}, is missing: the log was "
                "truncated",
            )
        if record.hash != digest.head_hash:
            return Break(
                digest.seq,
                "edited",
                f"record {digest.seq} does not match signed digest {digest.id}: the chain was "
                "rewritten",
            )
    return None


def digest_message(*, seq: int, head_hash: str, at: datetime) -> bytes:
    return canonical({"seq": seq, "head_hash": head_hash, "at": format_time(at)})


def sign(key: bytes, *, seq: int, head_hash: str, at: datetime) -> str:
    check_key(key)
    message = digest_message(seq=seq, head_hash=head_hash, at=at)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def signature_ok(key: bytes, digest: Digest) -> bool:
    expected = sign(key, seq=digest.seq, head_hash=digest.head_hash, at=digest.at)
    return hmac.compare_digest(expected, digest.signature)


def check_key(key: bytes) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"the audit key is {len(key)} bytes; it must be at least {MIN_KEY_BYTES} bytes"
        )
    return key


def key_id(key: bytes) -> str:
    """A short, non-secret name for a key, so a digest says which key signed it."""
    return hashlib.sha256(b"ficus-audit-key-id:" + key).hexdigest()[:12]
