"""The phases of a route and the one ownership rule: who owns a record's writes (pure).

`legacy -> shadow -> canary -> migrated -> retired`, with rollback from any phase (DESIGN.md
§2). The canary splits by cohort bucket (`cohort_bucket`, `in_canary`); the same split decides
which records' writes the service owns (`service_owns_writes`), so the proxy's routing and the
sync workers' ownership can never disagree: both import it from here.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Final

# Reads: the methods whose requests a proxy may send to another upstream or send twice. RFC 9110
# also calls PUT and DELETE idempotent, but replaying a write on a second system would give a
# record two writers, so only the safe methods (9.2.1) count here. TRACE is never routed.
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


class Phase(StrEnum):
    """Where a route is in its migration. The order is the order of a migration."""

    LEGACY = "legacy"
    SHADOW = "shadow"
    CANARY = "canary"
    MIGRATED = "migrated"
    RETIRED = "retired"


# Phases whose service-served reads legacy may answer instead: legacy still holds the data.
LEGACY_READABLE_PHASES: Final = frozenset({Phase.CANARY, Phase.MIGRATED})


BUCKETS: Final = 10_000


def cohort_bucket(feature: str, value: str) -> int:
    """The cohort's bucket in 0..9999: the same in every process, on every machine, forever."""
    data = f"{feature}\x00{value}".encode("utf-8", "surrogatepass")
    digest = hashlib.blake2b(data, digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def in_canary(bucket: int, weight: int) -> bool:
    """Whether a bucket is on the service side at weight w% (monotone in w)."""
    return bucket < weight * (BUCKETS // 100)


def write_share(*, phase: Phase, weight: int, canary_writes: bool) -> int:
    """The percentage of records (by cohort bucket) whose writes a write route in this state
    gives the service: 100 once `migrated` or `retired`, the weight in a canary that writes
    may join, else 0. See `service_owns_writes`."""
    if phase in (Phase.MIGRATED, Phase.RETIRED):
        return 100
    if phase is Phase.CANARY and canary_writes:
        return max(0, min(100, weight))
    return 0


def service_owns_writes(
    feature: str, key: str | None, *, phase: Phase, weight: int, canary_writes: bool
) -> bool:
    """Whether a write route in this state gives the service the writes of record `key`.

    The one ownership rule (DESIGN.md §5), per record: the service owns every record once the
    route is `migrated` or `retired`; in `canary` it owns the records whose cohort bucket is
    under the weight, and only if the plan lets writes join the canary (`canary_writes`, which
    requires the cohort key to be the data owner's key, so `key` names the record); otherwise
    legacy owns them. A write with no key (a booking: the record does not exist yet) stays
    with legacy below 100 %. The proxy routes writes with it and `domain.ownership`
    builds each feature's answer from it, so routing and sync can never disagree.
    """
    share = write_share(phase=phase, weight=weight, canary_writes=canary_writes)
    if share >= 100:
        return True
    return share > 0 and bool(key) and in_canary(cohort_bucket(feature, str(key)), share)
