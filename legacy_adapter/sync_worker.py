"""The sync worker's loop: poll every feature, back off per feature, report, prune, stop.

What `manage.py sync run` runs, without Django: the caller passes in the clock, the stop
signal, the start-up check, the features' work (built once, from the plans it started with,
like every other process of Ficus; a change of the plan files is reported, not applied) and
which errors mean "a database is away". A feature whose database is away backs off on its own
(0.25 s doubling to 5 s), so it never holds up the others; a worker started while a database
is away waits for it the same way, and says so.

A step never stops half-way: the stop signal is read between steps and while idle, so
SIGTERM ends the loop between batches. `once` drains what is pending and returns; there, a
database that is away is an error (DatabaseUnavailableError), not something to wait for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger("ficus.sync")

MAX_BACKOFF_S = 5.0
MIN_BACKOFF_S = 0.25
STATUS_EVERY_S = 2.0
PRUNE_EVERY_S = 60.0
STOPPED = "stopped"
_NOT_BUILT = object()
DRAINED = "drained"


class FeatureWork(Protocol):
    """One feature's share of a worker (legacy_adapter.sync_feature_work, Django side)."""

    @property
    def name(self) -> str: ...

    def step(self) -> bool:
        """One batch in each direction this worker runs; True when anything was done."""
        ...

    def report(self) -> None:
        """Observe and publish the feature's status (backlog, lag) for `sync status`."""
        ...

    def prune(self) -> None:
        """Drop applied change rows older than the worker keeps them."""
        ...


class StopSignal(Protocol):
    """What the loop needs of its stop signal; a threading.Event is one."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class DatabaseUnavailableError(RuntimeError):
    """A database was away in `once` mode (a drain has nothing to wait for)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True, slots=True)
class LoopOptions:
    interval_s: float = 0.2  # between polls when idle
    once: bool = False  # drain what is pending, then return
    prunes: bool = True  # one worker of a sharded set prunes (shard 0)


@dataclass(slots=True)
class _Pacing:
    """When a feature may run again, its current backoff, and when it last reported."""

    retry_at: float = float("-inf")
    backoff: float = 0.0
    reported_at: float = float("-inf")


class SyncLoop:
    def __init__(
        self,
        build: Callable[[], Sequence[FeatureWork]],
        *,
        stop: StopSignal,
        transient: tuple[type[Exception], ...],
        options: LoopOptions = LoopOptions(),  # frozen: one shared default is fine
        start: Callable[[], None] = lambda: None,
        plans: Callable[[], object] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
        on_transient: Callable[[], None] = lambda: None,
        describe: Callable[[Exception], str] = str,
    ) -> None:
        """`build` makes the features' work (appliers built once); `plans` answers the
        current plans (a PlanCache's): when it answers another object, `build` runs again.
        `start` checks the installation (run until it succeeds); `on_transient` drops the
        broken connections a transient error leaves behind."""
        self._build = build
        self._stop = stop
        self._transient = transient
        self._options = options
        self._start_check = start
        self._plans = plans
        self._clock = clock
        self._on_transient = on_transient
        self._describe = describe
        self._works: Sequence[FeatureWork] = ()
        self._built_for: object = _NOT_BUILT
        self._noticed: object = None  # a later generation, already reported
        self._plan_error: Exception | None = None
        self.builds = 0  # how many times the work was built (once per plan generation)

    # -- start-up ---------------------------------------------------------------------------

    def run(self) -> str:
        """Run until stopped (STOPPED) or, with `once`, until nothing is pending (DRAINED)."""
        if not self._started():
            return STOPPED
        self._rebuild_if_plans_changed()  # the first build
        pacing = {work.name: _Pacing() for work in self._works}
        last_prune = self._clock()
        while not self._stop.is_set():
            self._rebuild_if_plans_changed()
            prune_now = self._options.prunes and self._clock() - last_prune > PRUNE_EVERY_S
            busy = False
            for work in self._works:
                busy |= self._run_one(work, pacing.setdefault(work.name, _Pacing()), prune_now)
            if prune_now:
                last_prune = self._clock()
            if self._options.once and not busy:
                return DRAINED
            if not busy:
                # Poll again after the interval, unless every feature is backing off.
                soonest = min((p.retry_at for p in pacing.values()), default=0.0) - self._clock()
                self._stop.wait(max(self._options.interval_s, soonest))
        return DRAINED if self._options.once else STOPPED

    def _started(self) -> bool:
        """Run the start-up check, waiting (with backoff, and saying so) while a database is
        unreachable; False if stopped while waiting."""
        backoff = 0.0
        while not self._stop.is_set():
            try:
                self._start_check()
            except self._transient as e:
                backoff = self._backoff(backoff, "waiting for the databases at start-up", e)
                self._stop.wait(backoff)
                continue
            if backoff:
                logger.warning("sync run: the databases answer; starting")
            return True
        return False

    # -- one pass ---------------------------------------------------------------------------

    def _run_one(self, work: FeatureWork, pacing: _Pacing, prune_now: bool) -> bool:
        if self._clock() < pacing.retry_at:
            return False
        busy = False
        try:
            busy = work.step()
            if self._clock() - pacing.reported_at > STATUS_EVERY_S:
                work.report()
                pacing.reported_at = self._clock()
            if prune_now:
                work.prune()
            if pacing.backoff:
                logger.warning("sync run: %s: the databases answer again", work.name)
            pacing.backoff = 0.0
        except self._transient as e:
            pacing.backoff = self._backoff(pacing.backoff, f"{work.name}: database unavailable", e)
            pacing.retry_at = self._clock() + pacing.backoff
        return busy

    def _rebuild_if_plans_changed(self) -> None:
        """Build the work from the first good generation of the plans (a worker started on
        broken plans builds anyway, and again once they are fixed); report a later generation
        once, without applying it; a broken one is logged once and the good one stays."""
        try:
            current = self._plans()
        except Exception as e:  # the plan loader's own error, whatever it is
            if e is not self._plan_error:
                logger.warning("sync run: the plan files are broken (%s); the last good plans "
                               "stay", e)  # fmt: skip
            self._plan_error = e
            if self.builds == 0:  # build anyway: each batch reports the plans' error itself
                self._works = self._build()
                self.builds += 1
            return
        self._plan_error = None
        if self._built_for is _NOT_BUILT:
            self._built_for = current
            self._works = self._build()
            self.builds += 1
        elif current is not self._built_for and current is not self._noticed:
            # Not applied: the proxy and the services read the plans once per process too, and
            # a worker that alone moved to new plans could disagree with them about who owns a
            # record, and undo a write one of them accepted.
            self._noticed = current
            logger.warning(
                "sync run: the plan files changed since this worker started; restart the "
                "proxy, the services and the sync workers together to use them"
            )

    def _backoff(self, previous: float, what: str, error: Exception) -> float:
        """Log, drop the broken connections, and return the next backoff."""
        if self._options.once:
            raise DatabaseUnavailableError(error) from error
        self._on_transient()
        delay = min(MAX_BACKOFF_S, max(MIN_BACKOFF_S, previous * 2))
        logger.warning("sync run: %s (%s); retry in %.2fs", what, self._describe(error), delay)
        return delay
