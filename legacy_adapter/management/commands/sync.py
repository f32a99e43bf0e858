"""`manage.py sync`: install Ficus's tables in the legacy database and copy legacy → services.

    sync install                      create/upgrade the ficus_* tables (Alembic, head)
    sync check                        list what Alembic would change (exit 1 if anything)
    sync backfill appointments        install, then copy every row (resumes if interrupted)
    sync run --feature appointments --direction forward [--interval 2] [--once]
                                      copy changed rows, pass after pass (the stop-gap until
                                      change-capture triggers land; see forward_copy.py)

The command is the composition root: it builds the legacy engine from
settings.LEGACY_DATABASE_URL and hands it, with the service's sink, to the copier. Nothing in
legacy_adapter opens a connection at import time.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from sqlalchemy import Engine

from legacy_adapter import migrations
from legacy_adapter.engines import create_legacy_engine
from legacy_adapter.forward_copy import (
    DEFAULT_BATCH_SIZE,
    FORWARD,
    AppointmentsForwardCopy,
    CopyReport,
)

FEATURES = ("appointments",)

DIRECTIONS = (FORWARD, "reverse")


def _appointments_copier(
    engine: Engine, batch_size: int, progress: Callable[[CopyReport], None] | None
) -> AppointmentsForwardCopy:
    if not apps.is_installed("extracted.appointments"):
        raise CommandError("the appointments service is not installed in this process")
    # Imported here: the sink is Django code, and legacy_adapter's own modules stay free of it.
    from extracted.appointments.services import apply_legacy_appointments

    return AppointmentsForwardCopy(
        engine,
        apply_legacy_appointments,
        zone_name=settings.FICUS_HOSPITAL_TZ,
        batch_size=batch_size,
        progress=progress,
    )


class Command(BaseCommand):
    help = (
        "Keep the legacy database and the services' databases in step. "
        "`install` creates Ficus's own ficus_* tables in the legacy database (Alembic; it never "
        "touches a legacy table); `backfill FEATURE` installs, then copies every row; "
        "`run --feature F --direction forward` copies changed rows every --interval seconds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        sub.add_parser("install", help="create or upgrade the ficus_* tables (Alembic head)")
        sub.add_parser("check", help="list what Alembic would change; exit 1 if anything")
        backfill = sub.add_parser("backfill", help="install, then copy every row of FEATURE")
        backfill.add_argument("feature", choices=FEATURES)
        backfill.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
        run = sub.add_parser("run", help="copy changed rows, pass after pass")
        run.add_argument("--feature", choices=FEATURES, required=True)
        run.add_argument("--direction", choices=DIRECTIONS, required=True)
        run.add_argument("--interval", type=float, default=2.0, help="seconds between passes")
        run.add_argument("--once", action="store_true", help="one pass, then exit")
        run.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["verbosity"] >= 2:
            # Settings keep Alembic at WARNING (it narrates every plugin it loads at INFO).
            logging.getLogger("alembic").setLevel(logging.INFO)
        engine = create_legacy_engine(settings.LEGACY_DATABASE_URL)
        try:
            action = options["action"]
            if action == "install":
                self._install(engine)
            elif action == "check":
                self._check(engine)
            elif action == "backfill":
                self._backfill(engine, options["batch_size"])
            else:
                self._run(engine, options)
        finally:
            engine.dispose()

    def _install(self, engine: Engine) -> None:
        before = migrations.current_revision(engine)
        migrations.upgrade(engine)
        after = migrations.current_revision(engine)
        self.stdout.write(f"sync install: ficus_* tables at revision {after} (was {before})")

    def _check(self, engine: Engine) -> None:
        diffs = migrations.check(engine)
        for diff in diffs:
            self.stdout.write(f"  {diff!r}")
        if diffs:
            raise CommandError(f"{len(diffs)} difference(s); run `manage.py sync install`")
        self.stdout.write("sync check: the ficus_* tables match; no legacy table is touched")

    def _backfill(self, engine: Engine, batch_size: int) -> None:
        self._install(engine)
        copier = _appointments_copier(engine, batch_size, self._progress_printer())
        started = time.perf_counter()
        report = copier.backfill()
        elapsed = time.perf_counter() - started
        if report.resumed_after is not None:
            self.stdout.write(f"resumed after key {report.resumed_after}")
        rate = report.read / elapsed if elapsed > 0 else 0.0
        self.stdout.write(f"{report.summary()} in {elapsed:.1f}s ({rate:,.0f} rows/s)")
        self._fail_on_unmappable(report)

    def _run(self, engine: Engine, options: dict[str, Any]) -> None:
        if options["direction"] != FORWARD:
            raise CommandError(
                "reverse sync (service → legacy) is not built yet; only --direction forward"
            )
        if migrations.current_revision(engine) != migrations.head_revision():
            raise CommandError(
                "the ficus_* tables are missing or old: run `manage.py sync install`"
            )
        copier = _appointments_copier(engine, options["batch_size"], None)
        stop = threading.Event()
        if not options["once"]:
            self._stop_on_signals(stop)
        while True:
            report = copier.incremental()
            if report.read or options["once"]:
                self.stdout.write(f"{report.summary()}; watermark {report.watermark}")
            if options["once"]:
                self._fail_on_unmappable(report)
                return
            self._list_failures(report)  # and keep going: one bad row must not stop the rest
            if stop.wait(options["interval"]):
                self.stdout.write("sync run: stopped")
                return

    def _stop_on_signals(self, stop: threading.Event) -> None:
        """SIGTERM/SIGINT end the loop between passes: a pass is never cut in half."""

        def handler(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def _progress_printer(self) -> Callable[[CopyReport], None]:
        last = [0.0]
        interactive = sys.stdout.isatty()

        def show(report: CopyReport) -> None:
            now = time.monotonic()
            done = report.total is not None and report.read >= report.total
            if now - last[0] < 1.0 and not done:
                return  # at most one line a second
            last[0] = now
            total = report.total or 0
            percent = f" ({100 * report.read / total:.0f}%)" if total else ""
            line = f"{report.mode}: {report.read}/{total}{percent}, failed {report.failed}"
            self.stdout.write(
                f"\r{line}" if interactive else line, ending="" if interactive else "\n"
            )
            if interactive and done:
                self.stdout.write("")

        return show

    def _list_failures(self, report: CopyReport) -> None:
        for failure in report.failures:
            self.stdout.write(f"  failed key {failure.key}: {failure.problem}")
        if report.failed > len(report.failures):
            self.stdout.write(f"  ... and {report.failed - len(report.failures)} more (see log)")

    def _fail_on_unmappable(self, report: CopyReport) -> None:
        if report.failed:
            self._list_failures(report)
            raise CommandError(
                f"{report.failed} row(s) could not be mapped and were not copied; "
                "the other rows were. Fix them in the legacy app and run again."
            )
