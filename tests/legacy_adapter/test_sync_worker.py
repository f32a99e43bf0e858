"""The sync worker's loop (legacy_adapter.sync_worker) without Django: a manual clock and a stop
signal drive it against real SQLite databases; the plans come from a real PlanCache."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.exc import DBAPIError

from domain.plans import Plan, load_plans
from legacy_adapter.sync_worker import (
    DRAINED,
    STOPPED,
    DatabaseUnavailableError,
    LoopOptions,
    SyncLoop,
)
from migration_plans.plan_cache import PlanCache
from tests.migration_plans.plan_files import GOOD

metadata = MetaData()
pending = Table(
    "pending", metadata, Column("id", Integer, primary_key=True), Column("text", String(20))
)
copied = Table(
    "copied", metadata, Column("id", Integer, primary_key=True), Column("text", String(20))
)


class ManualTime:
    """A monotonic clock that moves only when the loop waits."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class StopAfterWaits(threading.Event):
    """The stop signal: each wait moves the clock by its timeout; set after `waits` waits."""

    def __init__(self, clock: ManualTime, waits: int) -> None:
        super().__init__()
        self.clock = clock
        self.waits_left = waits
        self.timeouts: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.timeouts.append(timeout)
        self.clock.now += timeout
        self.waits_left -= 1
        if self.waits_left <= 0:
            self.set()
        return self.is_set()


class CopyWork:
    """A feature's work between two real SQLite databases: copy up to two pending rows a step
    from the legacy one to the service one, then delete them from the pending table."""

    def __init__(self, name: str, legacy: Engine, service: Engine) -> None:
        self.name = name
        self._legacy = legacy
        self._service = service
        self.reports = 0
        self.prunes = 0

    def step(self) -> bool:
        with self._legacy.connect() as conn:
            rows = conn.execute(select(pending).order_by(pending.c.id).limit(2)).all()
        if not rows:
            return False
        with self._service.begin() as conn:
            conn.execute(copied.insert(), [dict(row._mapping) for row in rows])
        with self._legacy.begin() as conn:
            conn.execute(pending.delete().where(pending.c.id.in_([row.id for row in rows])))
        return True

    def report(self) -> None:
        self.reports += 1

    def prune(self) -> None:
        self.prunes += 1


class CountingLoader:
    def __init__(self) -> None:
        self.loads = 0

    def __call__(self, directory: Path) -> tuple[Plan, ...]:
        self.loads += 1
        return load_plans(directory, environ={})


@pytest.fixture
def databases(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    legacy = create_engine(f"sqlite:///{tmp_path / 'legacy.sqlite3'}")
    service = create_engine(f"sqlite:///{tmp_path / 'service.sqlite3'}")
    metadata.create_all(legacy, tables=[pending])
    metadata.create_all(service, tables=[copied])
    with legacy.begin() as conn:
        conn.execute(pending.insert(), [{"id": k, "text": f"row {k}"} for k in range(1, 6)])
    yield legacy, service
    legacy.dispose()
    service.dispose()


@pytest.fixture
def plans_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "plans"
    directory.mkdir()
    (directory / "appointments.yaml").write_text(GOOD, encoding="utf-8")
    return directory


def _copied(service: Engine) -> list[int]:
    with service.connect() as conn:
        return list(conn.scalars(select(copied.c.id).order_by(copied.c.id)))


def test_once_drains_what_is_pending_with_the_work_built_once(databases):
    legacy, service = databases
    clock = ManualTime()
    built: list[CopyWork] = []

    def build() -> list[CopyWork]:
        built.append(CopyWork("appointments", legacy, service))
        return built[-1:]

    loop = SyncLoop(
        build,
        stop=StopAfterWaits(clock, waits=100),
        transient=(DBAPIError,),
        options=LoopOptions(once=True),
        clock=clock,
    )

    assert loop.run() == DRAINED
    assert _copied(service) == [1, 2, 3, 4, 5]
    assert len(built) == 1  # three busy steps and an idle one, one applier
    assert built[0].reports == 1  # the clock did not move: one status report


def test_it_polls_at_the_interval_reports_and_prunes_until_stopped(databases):
    legacy, service = databases
    clock = ManualTime()
    work = CopyWork("appointments", legacy, service)
    stop = StopAfterWaits(clock, waits=100)
    loop = SyncLoop(
        lambda: [work],
        stop=stop,
        transient=(DBAPIError,),
        options=LoopOptions(interval_s=1.0),
        clock=clock,
    )

    assert loop.run() == STOPPED
    assert _copied(service) == [1, 2, 3, 4, 5]
    assert stop.timeouts == [1.0] * 100  # idle after the copy: one poll a second
    assert work.reports == 34  # every 2 s (more than 2 s since the last: each third poll)
    assert work.prunes == 1  # after 60 s
    assert loop.builds == 1


def test_a_feature_whose_database_is_away_backs_off_alone(databases, tmp_path):
    legacy, service = databases
    clock = ManualTime()
    # The second feature's legacy table is missing: every step of it fails as a database error.
    away = create_engine(f"sqlite:///{tmp_path / 'away.sqlite3'}")
    works = [CopyWork("patients", away, service), CopyWork("appointments", legacy, service)]
    dropped: list[str] = []
    stop = StopAfterWaits(clock, waits=8)
    loop = SyncLoop(
        lambda: works,
        stop=stop,
        transient=(DBAPIError,),
        options=LoopOptions(interval_s=0.2),
        clock=clock,
        on_transient=lambda: dropped.append("closed"),
    )

    assert loop.run() == STOPPED
    assert _copied(service) == [1, 2, 3, 4, 5]  # the other feature was not held up
    assert stop.timeouts == [0.2] * 8  # the healthy feature polls at the interval
    # The away feature was tried at 0, 0.4 and 1.0 s only (backoff 0.25, 0.5, then 1 s).
    assert len(dropped) == 3
    away.dispose()


def test_when_every_feature_is_away_the_loop_sleeps_until_the_soonest_retry(tmp_path):
    clock = ManualTime()
    away = create_engine(f"sqlite:///{tmp_path / 'away.sqlite3'}")
    stop = StopAfterWaits(clock, waits=8)
    loop = SyncLoop(
        lambda: [CopyWork("patients", away, away)],
        stop=stop,
        transient=(DBAPIError,),
        options=LoopOptions(interval_s=0.2),
        clock=clock,
    )

    assert loop.run() == STOPPED
    assert stop.timeouts == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]  # doubling, capped
    away.dispose()


def test_a_database_away_at_start_is_waited_for_and_an_error_when_draining(databases, tmp_path):
    legacy, service = databases
    clock = ManualTime()
    attempts: list[int] = []

    def start() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            with legacy.connect() as conn:
                conn.exec_driver_sql("SELECT * FROM no_such_table")

    work = CopyWork("appointments", legacy, service)
    waiting = SyncLoop(
        lambda: [work],
        stop=StopAfterWaits(clock, waits=100),
        transient=(DBAPIError,),
        options=LoopOptions(once=True),
        start=start,
        clock=clock,
    )
    with pytest.raises(DatabaseUnavailableError):
        waiting.run()  # once: nothing to wait for
    assert _copied(service) == []

    attempts.clear()
    stop = StopAfterWaits(clock, waits=4)
    loop = SyncLoop(lambda: [work], stop=stop, transient=(DBAPIError,), start=start, clock=clock)
    assert loop.run() == STOPPED
    assert stop.timeouts[:2] == [0.25, 0.5]  # the start-up backoff, then the polls
    assert len(attempts) == 3
    assert _copied(service) == [1, 2, 3, 4, 5]


def test_a_plan_edit_is_parsed_once_and_reported_never_applied(databases, plans_dir, caplog):
    legacy, service = databases
    clock = ManualTime()
    loader = CountingLoader()
    plans = PlanCache(plans_dir, loader, environ={})
    built: list[CopyWork] = []

    def build() -> list[CopyWork]:
        built.append(CopyWork("appointments", legacy, service))
        return built[-1:]

    class EditAfter(StopAfterWaits):
        def wait(self, timeout: float | None = None) -> bool:
            if self.waits_left == 5:  # a deploy rewrites the plan file mid-run
                path = plans_dir / "appointments.yaml"
                path.write_text(GOOD.replace("8101", "8102"), encoding="utf-8")
            if self.waits_left == 3:  # and then breaks it: the last good plans stay
                path = plans_dir / "appointments.yaml"
                path.write_text("feature: [", encoding="utf-8")
            return super().wait(timeout)

    loop = SyncLoop(
        build,
        stop=EditAfter(clock, waits=10),
        transient=(DBAPIError,),
        plans=plans.plans,
        clock=clock,
    )

    with caplog.at_level(logging.WARNING, logger="ficus.sync"):
        assert loop.run() == STOPPED
    # Ten polls and the busy steps before them: three generations, each parsed once.
    assert loader.loads == 3
    # Built from the plans of the start only: the proxy and the services read the plans once
    # per process, and a worker that moved alone could disagree with them about an owner.
    assert len(built) == loop.builds == 1
    restart = [r for r in caplog.records if "restart the proxy, the services" in r.message]
    assert len(restart) == 1
    assert _copied(service) == [1, 2, 3, 4, 5]


def test_partial_of_load_plans_is_what_the_command_passes(plans_dir):
    plans = PlanCache(plans_dir, partial(load_plans, environ={}), environ={})
    loop = SyncLoop(
        list,
        stop=StopAfterWaits(ManualTime(), waits=1),
        transient=(DBAPIError,),
        plans=plans.plans,
    )

    assert loop.run() == STOPPED
    assert plans.generation == 1


def test_plans_broken_at_start_still_build_the_work_once_until_fixed(databases, plans_dir):
    legacy, service = databases
    path = plans_dir / "appointments.yaml"
    path.write_text("feature: [", encoding="utf-8")
    loader = CountingLoader()
    plans = PlanCache(plans_dir, loader, environ={})

    class FixAfter(StopAfterWaits):
        def wait(self, timeout: float | None = None) -> bool:
            if self.waits_left == 2:
                path.write_text(GOOD, encoding="utf-8")
            return super().wait(timeout)

    loop = SyncLoop(
        lambda: [CopyWork("appointments", legacy, service)],
        stop=FixAfter(ManualTime(), waits=4),
        transient=(DBAPIError,),
        plans=plans.plans,
    )

    assert loop.run() == STOPPED
    assert (loader.loads, loop.builds) == (2, 2)
    assert _copied(service) == [1, 2, 3, 4, 5]
