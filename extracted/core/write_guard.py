"""The services refuse writes to records they do not own, on every face (DESIGN.md §5).

Every write function in a service's `services.py` takes a `WriteGuard` and calls it before
it touches a row, so no face (the legacy contract, /v2, FHIR, a direct call past the proxy)
can write a record the service does not own: `check_owner` raises `NotOwnerError`, which each
face answers as a 409 naming the owner, in its own format, and nothing is written (no row, no
outbox row, no audit row). Who owns a record is the one rule, `domain.ownership`.

A record the service does own may still have legacy writes that forward sync has not applied
(made just before ownership moved, or by another legacy module). A write on top of a copy
that misses them would overwrite them, so `wait_for_legacy` waits a moment for sync (it
applies within a second) and raises `SyncInFlightError` if they are still on their way: a
409 that asks to try again, never a lost write. Call it before taking any row lock, since
forward sync needs the same row.

A signed dry-run (a shadowed write, rolled back) is let through: it must answer as the owner
would, and it changes nothing anywhere.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from django.http import HttpRequest
from sqlalchemy import Engine

from domain.ownership import Owner
from extracted.core.dry_run import is_dry_run
from extracted.core.legacy_db import legacy_engine
from extracted.core.legacy_errors import SYNC_IN_FLIGHT, LegacyError, not_owner
from legacy_adapter.lookups import unapplied_legacy_writes
from migration_plans.ownership_state import current_ownership, plan_of

DEFAULT_WAIT_SECONDS = 2.0
POLL_SECONDS = 0.05


class WriteRefusedError(Exception):
    """A write the service must not make now; the faces answer 409."""


class NotOwnerError(WriteRefusedError):
    def __init__(self, feature: str, key: int, owner: Owner) -> None:
        super().__init__(f"{feature} record {key} is owned by {owner.value}")
        self.feature = feature
        self.key = key
        self.owner = owner


class SyncInFlightError(WriteRefusedError):
    def __init__(self, feature: str, key: int) -> None:
        super().__init__(f"{feature} record {key} has legacy changes still being synchronized")
        self.feature = feature
        self.key = key


class WriteGuard(Protocol):
    def check_may_create(self) -> None:
        """Raise NotOwnerError when the service owns no record at all: a new one would not be
        its own either (checked before an id is drawn, so no id is used up for nothing)."""
        ...

    def check_owner(self, key: int) -> None:
        """Raise NotOwnerError unless the service owns the record `key`."""
        ...

    def wait_for_legacy(self, key: int) -> None:
        """Return once legacy has no unapplied writes of `key`, or raise SyncInFlightError."""
        ...


@dataclass(frozen=True, slots=True)
class OwnershipGuard:
    """The guard of one request: the feature, its captured legacy table, and the legacy
    database where unapplied writes would be waiting."""

    feature: str
    table: str
    engine: Engine
    dry_run: bool = False
    wait_seconds: float = field(
        default_factory=lambda: float(
            getattr(settings, "FICUS_WRITE_SYNC_WAIT_SECONDS", DEFAULT_WAIT_SECONDS)
        )
    )
    sleep: Callable[[float], None] = time.sleep

    def check_may_create(self) -> None:
        if self.dry_run:
            return
        if current_ownership(self.feature).service_share <= 0:
            raise NotOwnerError(self.feature, 0, Owner.LEGACY)

    def check_owner(self, key: int) -> None:
        if self.dry_run:
            return
        owner = current_ownership(self.feature).owner_of(key)
        if owner is not Owner.SERVICE:
            raise NotOwnerError(self.feature, key, owner)

    def wait_for_legacy(self, key: int) -> None:
        if self.dry_run:
            return
        deadline = time.monotonic() + self.wait_seconds
        while unapplied_legacy_writes(self.engine, self.table, key):
            if time.monotonic() >= deadline:
                raise SyncInFlightError(self.feature, key)
            self.sleep(POLL_SECONDS)


def guard_for(request: HttpRequest, feature: str) -> OwnershipGuard:
    """The guard of a request to `feature`'s service: its table is the plan's captured one."""
    return OwnershipGuard(
        feature=feature,
        table=plan_of(feature).legacy_tables[0],
        engine=legacy_engine(),
        dry_run=is_dry_run(request),
    )


def refusal(error: WriteRefusedError) -> LegacyError:
    """The refusal in the legacy error shape (the legacy faces answer it)."""
    if isinstance(error, NotOwnerError):
        return not_owner(error.owner.value)
    return SYNC_IN_FLIGHT
