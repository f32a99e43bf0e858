"""`manage.py sync`: keep the legacy database and the services' databases in step.

    sync install                  create/upgrade the ficus_* tables and capture triggers
    sync check                    what Alembic would change (exit 1 if anything)
    sync uninstall-capture        drop the capture triggers (Alembic downgrade to 0004)
    sync run [--feature F] [--direction both|forward|reverse] [--once] [--shard K/N]
             [--metrics-port P]   apply changes until SIGTERM/SIGINT (or once, drained)
    sync status                   per feature: owner, backlog, lag, dead letters, conflicts
    sync conflicts [--feature F]  the conflict log: writes that lost, and refused ones
    sync backfill FEATURE         copy every legacy row (checkpointed, resumable)
    sync reconcile FEATURE [--repair]
                                  compare both sides by key-range checksums, report drift
    sync dead-letters [--retry]   list open dead letters (and queue them again)

The command is the composition root: it builds the legacy engine from
settings.LEGACY_DATABASE_URL and hands it to the appliers with each feature's target; the
worker's loop itself is legacy_adapter.sync_worker (no Django), each feature's share of it
legacy_adapter.sync_feature_work. The worker uses the plans it started with, as the proxy and
the services do; it checks the plan files once per pass (migration_plans.plan_cache, a hash,
no parse unless they changed) and says when they changed: restart everything to use them. Both
directions run in every worker by default: ownership (domain.ownership) decides what
happens to each change, not which loop runs. A worker started while a database is away waits
for it, with backoff, and says so, exactly as it does when one goes away later.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any, TextIO, cast

import psycopg
import pymysql  # type: ignore[import-untyped]
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connections
from django.db import InterfaceError as DjangoInterfaceError
from django.db import OperationalError as DjangoOperationalError
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from domain.plans import load_plans
from domain.redaction import describe_error
from legacy_adapter import conflicts, deadletters, migrations
from legacy_adapter.capture_reconcile import capture_drift
from legacy_adapter.engines import create_legacy_engine
from legacy_adapter.features import FEATURES, UnknownFeatureError, feature_sync
from legacy_adapter.features import installed_features as _installed
from legacy_adapter.forward_apply import DEFAULT_BATCH, Shard, now_us
from legacy_adapter.forward_copy import DEFAULT_BATCH_SIZE, Backfill
from legacy_adapter.metrics import SyncMetrics
from legacy_adapter.operations import reconcile_feature, status_of
from legacy_adapter.progress_bar import ProgressBar
from legacy_adapter.sync_feature_work import BOTH, DIRECTIONS, FeatureWork, WorkerOptions
from legacy_adapter.sync_worker import DatabaseUnavailableError, LoopOptions, SyncLoop
from migration_plans import ownership_state
from migration_plans.plan_cache import PlanCache

logger = logging.getLogger("ficus.sync")
# A lost connection, as SQLAlchemy and Django report it; and as the drivers raise it unwrapped
# where SQLAlchemy sets a connection characteristic itself (the isolation level the forward
# claim asks for, on a connection the server killed after the pool's pre-ping).
TRANSIENT = (
    DBAPIError,
    DjangoOperationalError,
    DjangoInterfaceError,
    pymysql.err.OperationalError,
    pymysql.err.InterfaceError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
# The newest revision without triggers: every ficus_* table, the conflict log included.
TABLES_REVISION = "0004"


class Command(BaseCommand):
    help = (
        "Keep the legacy database and the services' databases in step: change capture, "
        "forward and reverse apply, backfill, reconcile and dead letters."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        sub.add_parser("install", help="create or upgrade the ficus_* tables and triggers")
        sub.add_parser("check", help="list what Alembic would change; exit 1 if anything")
        sub.add_parser("uninstall-capture", help="drop the capture triggers (keep the tables)")
        run = sub.add_parser("run", help="apply changes until stopped")
        run.add_argument("--feature", choices=FEATURES, action="append")
        run.add_argument(
            "--direction", choices=DIRECTIONS, default=BOTH,
            help="both (the default, and what production runs); one direction only for "
            "maintenance",
        )  # fmt: skip
        run.add_argument("--once", action="store_true", help="drain what is pending, then exit")
        run.add_argument("--shard", default="0/1", help="K/N: this worker's share of the keys")
        run.add_argument("--interval", type=float, default=0.2, help="seconds between polls")
        run.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
        run.add_argument("--metrics-port", type=int, default=None)
        run.add_argument(
            "--keep-done-hours", type=float, default=24.0,
            help="how long applied change rows are kept (for status and audits)",
        )  # fmt: skip
        sub.add_parser("status", help="per feature: backlog, lag, dead letters, last reconcile")
        backfill = sub.add_parser("backfill", help="install, then copy every row of FEATURE")
        backfill.add_argument("feature", choices=FEATURES)
        backfill.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
        reconcile = sub.add_parser("reconcile", help="compare both sides of FEATURE")
        reconcile.add_argument("feature", choices=FEATURES)
        reconcile.add_argument("--repair", action="store_true")
        reconcile.add_argument("--bucket", type=int, default=4096, help="keys per range")
        log = sub.add_parser("conflicts", help="the conflict log, newest first")
        log.add_argument("--feature", choices=FEATURES)
        log.add_argument("--limit", type=int, default=50)
        letters = sub.add_parser("dead-letters", help="list (and --retry) open dead letters")
        letters.add_argument("--feature", choices=FEATURES)
        letters.add_argument("--retry", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verbosity"] >= 2:
            logging.getLogger("alembic").setLevel(logging.INFO)
        engine = create_legacy_engine(settings.LEGACY_DATABASE_URL)
        try:
            action = options["action"].replace("-", "_")
            if action not in {"install", "check", "run"}:  # run waits for the databases
                self._require_installed(engine, action)
            getattr(self, f"_{action}")(engine, options)
        except UnknownFeatureError as e:
            raise CommandError(str(e)) from e
        finally:
            engine.dispose()

    # -- install / check ---------------------------------------------------------------------

    def _require_installed(self, engine: Engine, action: str) -> None:
        if action == "backfill":
            self._install(engine, {})
            return
        if migrations.current_revision(engine) != migrations.head_revision():
            raise CommandError(
                "the ficus_* tables or capture triggers are missing or old: "
                "run `manage.py sync install`"
            )
        # The triggers follow the plans' tables, not a revision: a table added to a plan (or a
        # trigger changed by a deploy) is not captured until `sync install` reconciles them.
        with engine.connect() as conn:
            drift = capture_drift(conn)
        if drift.changed:
            missing = ", ".join((*drift.created, *drift.replaced, *drift.dropped))
            raise CommandError(
                f"the capture triggers do not match the plans ({missing}): "
                "run `manage.py sync install`"
            )

    def _install(self, engine: Engine, options: dict[str, Any]) -> None:
        before = migrations.current_revision(engine)
        migrations.upgrade(engine)
        for name in _installed():
            feature_sync(name).target.ensure_tables()
        after = migrations.current_revision(engine)
        self.stdout.write(
            f"sync install: ficus_* tables and capture triggers at revision {after} (was {before})"
        )

    def _check(self, engine: Engine, options: dict[str, Any]) -> None:
        diffs = migrations.check(engine)
        for diff in diffs:
            self.stdout.write(f"  {diff!r}")
        if diffs:
            raise CommandError(f"{len(diffs)} difference(s); run `manage.py sync install`")
        self.stdout.write("sync check: the ficus_* tables match; no legacy table is touched")

    def _uninstall_capture(self, engine: Engine, options: dict[str, Any]) -> None:
        migrations.downgrade(engine, TABLES_REVISION)
        self.stdout.write(
            f"sync uninstall-capture: triggers dropped (revision {TABLES_REVISION}); "
            "`sync install` puts them back"
        )

    # -- run ---------------------------------------------------------------------------------

    def _run(self, engine: Engine, options: dict[str, Any]) -> None:
        try:
            shard = Shard.parse(options["shard"])
        except ValueError as e:
            raise CommandError(str(e)) from e
        if shard.count > 1 and engine.dialect.name == "sqlite":
            raise CommandError("--shard: SQLite has one writer; run a single worker (0/1)")
        names = options["feature"] or _installed()
        syncs = [feature_sync(name) for name in names]
        metrics = SyncMetrics()
        if options["metrics_port"] is not None:
            metrics.serve(options["metrics_port"])
            self.stderr.write(f"sync run: metrics on http://127.0.0.1:{options['metrics_port']}/")
        worker = WorkerOptions(
            worker=f"{socket.gethostname()}:{os.getpid()}:{shard.index}/{shard.count}",
            shard=shard,
            direction=options["direction"],
            batch_size=options["batch_size"],
            keep_done_us=int(options["keep_done_hours"] * 3600 * 1e6),
            verbose=options["once"] or options["verbosity"] >= 2,
        )

        def build() -> list[FeatureWork]:
            # The first good plans (also after plans broken at start were fixed): the ownership
            # the targets read is parsed from them.
            ownership_state.forget()
            return [FeatureWork(engine, sync, worker, metrics, self.stdout.write) for sync in syncs]

        def start() -> None:
            self._require_installed(engine, "run")
            for sync in syncs:
                sync.target.ensure_tables()

        stop = threading.Event()
        if not options["once"]:
            self._stop_on_signals(stop)
        plans = PlanCache(
            Path(settings.FICUS_PLANS_DIR), partial(load_plans, environ=os.environ),
            environ=os.environ,
        )  # fmt: skip
        loop = SyncLoop(
            build,
            stop=stop,
            transient=TRANSIENT,
            options=LoopOptions(
                interval_s=options["interval"], once=options["once"], prunes=shard.index == 0
            ),
            start=start,
            plans=plans.plans,
            on_transient=connections.close_all,  # Django keeps a broken connection until told
            describe=describe_error,
        )
        try:
            outcome = loop.run()
        except DatabaseUnavailableError as e:
            raise CommandError(f"a database is unavailable: {describe_error(e.error)}") from e
        self.stdout.write(f"sync run: {outcome}")

    def _stop_on_signals(self, stop: threading.Event) -> None:
        """SIGTERM/SIGINT end the loop between batches: a batch is never cut in half."""

        def handler(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    # -- status ------------------------------------------------------------------------------

    def _status(self, engine: Engine, options: dict[str, Any]) -> None:
        header = (
            f"{'feature':<14}{'owner':<11}{'backlog':>9}{'lag s':>9}{'reverse':>9}"
            f"{'dead':>6}{'conflicts':>11}  last reconcile"
        )
        self.stdout.write(header)
        for name in _installed():
            sync = feature_sync(name)
            status = status_of(engine, sync)
            try:
                owner = sync.target.ownership().describe()
            except DatabaseError:  # the control plane cannot be read: say so, show the rest
                owner = "?"
            reverse = "?" if status.reverse_backlog is None else str(status.reverse_backlog)
            last = status.last_reconcile
            if last is None:
                reconciled = "never"
            else:
                when = datetime.fromtimestamp(last.finished_at_us / 1e6, UTC)
                tables = ", ".join(
                    f"{table}: {sum(counts.values())}" for table, counts in last.per_table.items()
                )
                reconciled = f"{when:%Y-%m-%d %H:%M:%S}Z drift {last.drift_rows} ({tables})"
            self.stdout.write(
                f"{name:<14}{owner:<11}{status.forward_backlog:>9}{status.lag_seconds:>9.2f}"
                f"{reverse:>9}{status.dead_letters:>6}{status.conflicts:>11}  {reconciled}"
            )

    # -- backfill ----------------------------------------------------------------------------

    def _backfill(self, engine: Engine, options: dict[str, Any]) -> None:
        sync = feature_sync(options["feature"])
        job = Backfill(
            engine,
            sync.source,
            sync.target.backfill_apply,
            batch_size=options["batch_size"],
            progress=ProgressBar(cast(TextIO, self.stderr._out)),
        )
        started = time.perf_counter()
        report = job.run()
        elapsed = time.perf_counter() - started
        if report.resumed_after is not None:
            self.stdout.write(f"resumed after key {report.resumed_after}")
        rate = report.read / elapsed if elapsed > 0 else 0.0
        self.stdout.write(f"{report.summary()} in {elapsed:.1f}s ({rate:,.0f} rows/s)")
        if report.failed:
            for failure in report.failures:
                self.stdout.write(f"  failed key {failure.key}: {failure.problem}")
            raise CommandError(
                f"{report.failed} row(s) could not be mapped and were not copied (see "
                "`sync dead-letters`); the other rows were. Fix them in the legacy app: the "
                "fix is applied by `sync run`."
            )

    # -- reconcile ---------------------------------------------------------------------------

    def _reconcile(self, engine: Engine, options: dict[str, Any]) -> None:
        sync = feature_sync(options["feature"])
        outcome = reconcile_feature(
            engine, sync, repair=options["repair"], bucket=options["bucket"]
        )
        report, drift = outcome.report, outcome.report.drift
        self.stdout.write(
            f"reconcile {sync.name}: compared {report.compared} legacy rows in "
            f"{report.ranges} key ranges ({report.differing_ranges} differ) in "
            f"{outcome.seconds:.1f}s"
        )
        self.stdout.write(
            f"  {sync.source.table} -> {sync.target.alias}: missing in service "
            f"{drift.missing_count}, extra in service {drift.extra_count}, different "
            f"{drift.different_count}"
        )
        for label, keys in (
            ("missing", drift.missing),
            ("extra", drift.extra),
            ("different", drift.different),
        ):
            if keys:
                self.stdout.write(f"  {label} keys: {_listed(keys)}")
        if outcome.in_flight:
            self.stdout.write(
                f"  in flight: {_listed(list(outcome.in_flight))} (changes on their way: "
                "backlog, not drift)"
            )
        repair = outcome.repair
        if repair is not None:
            owners = ", ".join(f"{n} owned by {owner}" for owner, n in repair.by_owner.items())
            self.stdout.write(
                f"  repaired {len(repair.changed)} key(s), each to its owner's state "
                f"({owners or 'none to repair'}; applied by {repair.applied_by})"
            )
            if repair.in_flight:
                self.stdout.write(
                    f"  left to sync: {_listed(repair.in_flight)} (changes in flight)"
                )
            if repair.still_different:
                self.stdout.write(
                    f"  still different: {_listed(repair.still_different)} (see `sync "
                    "dead-letters`: a row that cannot be mapped stays until it is fixed)"
                )
        self.stdout.write(f"drift rows: {outcome.drift_rows}")

    # -- conflicts ---------------------------------------------------------------------------

    def _conflicts(self, engine: Engine, options: dict[str, Any]) -> None:
        found = conflicts.logged(engine, options["feature"], limit=options["limit"])
        if not found:
            self.stdout.write("no conflicts logged")
            return
        self.stdout.write(
            f"{'at':<22}{'feature':<14}{'table':<16}{'key':>8}  {'kind':<11}{'winner':<9}"
            f"{'loser':<9}{'owner':<9}rule"
        )
        for c in found:
            when = datetime.fromtimestamp(c.detected_at_us / 1e6, UTC)
            self.stdout.write(
                f"{when:%Y-%m-%d %H:%M:%S}Z  {c.feature:<14}{c.tbl:<16}{c.pk:>8}  {c.kind:<11}"
                f"{c.winner:<9}{c.loser:<9}{c.owner:<9}{c.rule}"
            )

    # -- dead letters ------------------------------------------------------------------------

    def _dead_letters(self, engine: Engine, options: dict[str, Any]) -> None:
        letters = deadletters.open_letters(engine, options["feature"])
        if not letters:
            self.stdout.write("no open dead letters")
        for d in letters:
            self.stdout.write(
                f"{d.feature} {d.direction} {d.tbl} key {d.pk}: {d.reason} (attempts {d.attempts})"
            )
        if options["retry"] and letters:
            queued = deadletters.retry_forward(engine, now_us(), options["feature"])
            self.stdout.write(
                f"queued {queued} forward key(s) again; `sync run` applies them (reverse "
                "ones are retried by the next change in the service)"
            )


def _listed(keys: list[int], shown: int = 20) -> str:
    more = f" (+{len(keys) - shown} more)" if len(keys) > shown else ""
    return ", ".join(str(k) for k in keys[:shown]) + more
