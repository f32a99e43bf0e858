"""The autopilot's long-lived worker (`plan autopilot FEATURE --worker`): a tick every interval
until the target, the kill switch or the stop signal, with its clock and stop signal passed in
(testable without sleeping), the plans asked again before each tick."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from django.db import DatabaseError
from django.utils import timezone

from domain.plans import Plan, PlanError
from migration_plans import route_moves
from migration_plans.autopilot import TickReport, settings_of, tick
from migration_plans.autopilot_controls import POLL_SECONDS, kill_switch_on
from migration_plans.autopilot_core import Kind

log = logging.getLogger("ficus.autopilot")


class StopSignal(Protocol):
    """What the worker needs of its stop signal; a threading.Event is one."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


PlanSource = Sequence[Plan] | Callable[[], Sequence[Plan]]


def run_worker(
    *,
    plans: PlanSource,
    feature: str,
    stop_signal: StopSignal,
    report: Callable[[TickReport], None],
    clock: Callable[[], datetime] = timezone.now,
    providers: Sequence[str] | None = None,
) -> Kind:
    """Tick every interval until done, the kill switch, or the stop signal (SIGTERM).

    `plans` may be a loader (a `PlanCache`'s `plans`, cheap while the files are unchanged): it
    is asked before every tick, so a reviewed change to the plan's gates or autopilot section
    applies from the next tick (logged once). While the plan files are broken no tick runs: the
    worker never acts on gates it can no longer read."""
    current = _Plans(plans, feature)
    settings = settings_of(route_moves.find_plan(current.get(), feature))
    while not stop_signal.is_set():
        latest = current.refresh()
        if latest is not None:
            settings = settings_of(route_moves.find_plan(latest, feature))
            try:
                result = tick(plans=latest, feature=feature, now=clock(), providers=providers)
            except DatabaseError as e:  # the control plane is away: try again next interval
                log.warning("autopilot %s: tick failed (%s), retrying", feature, type(e).__name__)
            else:
                report(result)
                if result.decision.kind in (Kind.DONE, Kind.STOPPED):
                    return result.decision.kind
        waited = 0.0
        while waited < settings.interval_seconds:
            step = min(POLL_SECONDS, settings.interval_seconds - waited)
            if stop_signal.wait(step):
                return Kind.STOPPED
            waited += step
            if _kill_switch_seen(feature):
                break  # the next tick sees it, reports it and ends the loop
    return Kind.STOPPED


class _Plans:
    """The worker's plans: fixed, or asked of a loader before each tick."""

    def __init__(self, source: PlanSource, feature: str) -> None:
        self._load = source if callable(source) else None
        self._plans: Sequence[Plan] = source() if callable(source) else source
        self._feature = feature
        self._broken: str | None = None

    def get(self) -> Sequence[Plan]:
        return self._plans

    def refresh(self) -> Sequence[Plan] | None:
        """The plans for this tick; None (and a warning, once) while the files are broken."""
        if self._load is None:
            return self._plans
        try:
            found = self._load()
        except PlanError as e:
            if str(e) != self._broken:
                log.warning(
                    "autopilot %s: plan files broken, no tick until fixed: %s", self._feature, e
                )
                self._broken = str(e)
            return None
        self._broken = None
        if found is not self._plans:
            log.info("autopilot %s: the plan files changed; ticking with them", self._feature)
            self._plans = found
        return found


def _kill_switch_seen(feature: str) -> bool:
    try:
        return kill_switch_on(feature)
    except DatabaseError:  # the control plane is away; the next tick retries and says so
        return False
