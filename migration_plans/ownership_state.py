"""The ownership of each feature now, read from the control plane's database (Django side).

`current_ownership(feature)` is what the services' write guard, the sync worker and `sync
status` ask. It combines the plan (parsed once per process and plans directory: plans are
reviewed files, not live state) with the feature's `ficus_route_state` rows, read again at
most every `FICUS_OWNERSHIP_CACHE_SECONDS` (0.2 s by default, so a phase change is seen well
within the 1 s the proxies take). The rule itself is `domain.ownership`.

If the control plane's database cannot be read, the last ownership read stands; before any
read has succeeded, the plan-file phases do, exactly as the proxy routes without a control
plane, so the services and the proxy never disagree about who owns a record.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError

from domain.ownership import FeatureOwnership, feature_ownership
from domain.phases import Phase
from domain.plans import Plan, load_plans
from domain.route_table import RouteState
from migration_plans.models import RouteState as RouteStateRow

logger = logging.getLogger("ficus.ownership")
DEFAULT_CACHE_SECONDS = 0.2


class UnknownPlanError(LookupError):
    """No plan declares the feature."""


@dataclass(frozen=True, slots=True)
class _Cached:
    read_at: float
    ownership: FeatureOwnership


_lock = threading.Lock()
_plans: dict[str, tuple[Plan, ...]] = {}
_cache: dict[tuple[str, str], _Cached] = {}


def plans() -> tuple[Plan, ...]:
    """The plans of `settings.FICUS_PLANS_DIR`, parsed once per process and directory."""
    directory = str(settings.FICUS_PLANS_DIR)
    with _lock:
        found = _plans.get(directory)
    if found is None:
        found = load_plans(Path(directory), environ=os.environ)
        with _lock:
            _plans[directory] = found
    return found


def plan_of(feature: str) -> Plan:
    for plan in plans():
        if plan.feature == feature:
            return plan
    known = ", ".join(sorted(p.feature for p in plans())) or "none"
    raise UnknownPlanError(f"no plan declares feature {feature!r} (known: {known})")


def _read(plan: Plan) -> FeatureOwnership:
    rows = RouteStateRow.objects.filter(feature=plan.feature).values_list(
        "method", "template", "phase", "weight", "since"
    )
    states: dict[tuple[str, str], RouteState] = {}
    changed_at_us = 0
    for method, template, phase, weight, since in rows:
        try:
            states[(method, template)] = RouteState(Phase(phase), int(weight))
        except ValueError:
            logger.warning("%s %s: unknown phase %r, plan phase used", method, template, phase)
            continue
        changed_at_us = max(changed_at_us, int(since.timestamp() * 1_000_000))
    return feature_ownership(plan, states, changed_at_us=changed_at_us)


def current_ownership(feature: str) -> FeatureOwnership:
    """Who owns the writes of each record of `feature` now (see the module docstring)."""
    plan = plan_of(feature)
    key = (str(settings.FICUS_PLANS_DIR), feature)
    ttl = float(getattr(settings, "FICUS_OWNERSHIP_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
    if hit is not None and now - hit.read_at < ttl:
        return hit.ownership
    try:
        ownership = _read(plan)
    except DatabaseError as e:
        if hit is not None:
            logger.warning("control plane unreadable (%s); ownership of %s as last read",
                           type(e).__name__, feature)  # fmt: skip
            return hit.ownership
        logger.warning("control plane unreadable (%s); ownership of %s from its plan file",
                       type(e).__name__, feature)  # fmt: skip
        return feature_ownership(plan)
    with _lock:
        _cache[key] = _Cached(now, ownership)
    return ownership


def forget() -> None:
    """Drop what was read (tests that change route states directly, plan files that moved)."""
    with _lock:
        _plans.clear()
        _cache.clear()
