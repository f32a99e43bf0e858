"""`manage.py plan check|status|advance|rollback|history|evidence|autopilot`: plans and route
phases.

`check` validates the plan files (CI runs it). The other actions drive the control plane:
they read the plans, register routes seen for the first time (actor `plan-file`), and call
`migration_plans.services` / `selectors`, which hold every rule; `evidence` prints the shadow
comparisons (`migration_plans.evidence_report`); `autopilot` runs `migration_plans.autopilot`
once, or as a worker until done, stopped or sent SIGTERM. A refused advance or rollback prints
every gate with its numbers on stderr and exits 1; bad input names what is wrong.
"""

from __future__ import annotations

import getpass
import os
import signal
import threading
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from domain.plans import Plan, PlanError, check_plans, display_path, load_plans
from domain.route_table import build_route_table
from migration_plans import (
    autopilot,
    autopilot_controls,
    autopilot_worker,
    control_errors,
    evidence_report,
    route_moves,
    selectors,
    services,
)
from migration_plans.plan_cache import PlanCache


def default_actor() -> str:
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return ""


class Command(BaseCommand):
    help = (
        "Work with migration plans. Actions: check, status, advance, rollback, history, evidence, "
        "autopilot."
    )
    requires_system_checks: list[str] = []  # reads files and the control-plane tables only

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        check = actions.add_parser(
            "check",
            help="validate every plan file; print one line per plan or each error",
            description="Validate every plan file (*.yaml) in the plans directory and check "
            "them against each other (overlapping routes, tables owned twice). Errors print as "
            "file:line: field: message and make the command exit 1.",
        )
        status = actions.add_parser(
            "status", help="print each route's phase, weight, since when and by whom"
        )
        status.add_argument("feature", nargs="?", help="one feature (default: all)")
        history = actions.add_parser("history", help="print a feature's transitions")
        history.add_argument("feature")
        shown = actions.add_parser(
            "evidence",
            help="print the shadow comparisons of a feature's routes since their phase began",
            description="Per route: exchanges compared, raw, noise and real difference rates, "
            "and the differing fields worst first with their verdict (real, accepted, noise) "
            "and de-identified samples.",
        )
        shown.add_argument("feature")
        shown.add_argument(
            "--route", metavar='"METHOD /template"', help="one route (default: all of them)"
        )
        advance = actions.add_parser(
            "advance",
            help="move a feature's routes forward one phase, or raise a canary weight",
            description="Move the feature's routes (or one with --route) forward one phase. "
            "Gates for the phase entered are checked first; a failing gate refuses the advance "
            "and prints every gate with its numbers, unless --force (recorded).",
        )
        rollback = actions.add_parser(
            "rollback",
            help="move a feature's routes back to an earlier phase",
            description="Move the feature's routes (or one) back to an earlier phase (default: "
            "one step). Leaving a phase where the service takes writes is refused while reverse "
            "sync still has writes to bring to legacy, unless --force (recorded).",
        )
        for sub, word in ((advance, "advance"), (rollback, "roll back")):
            sub.add_argument("feature")
            sub.add_argument("--to", metavar="PHASE", help=f"phase to {word} to")
            sub.add_argument(
                "--weight",
                type=int,
                metavar="N",
                help="canary weight, 1-99 percent of cohorts",
            )
            sub.add_argument(
                "--route",
                metavar='"METHOD /template"',
                help="move this route only (default: all of the feature's routes)",
            )
            sub.add_argument("--reason", required=True, help="why; kept in the history")
            sub.add_argument("--force", action="store_true", help="override failing gates")
            sub.add_argument(
                "--actor",
                default=default_actor(),
                help="who is acting (default: $USER, %(default)s)",
            )
        pilot = actions.add_parser(
            "autopilot",
            help="let the plan's autopilot: section advance or roll back a feature",
            description="Check the feature's current step against its gates and act as the "
            "plan's autopilot: section says: hold (too few samples, too little time, a failing "
            "or unmeasured check), advance to the next canary weight or phase, or roll back "
            "after failure_threshold consecutive failed checks and lock the feature until a "
            "person runs --clear-lock. Every move is audited with the actor autopilot. With no "
            "option, one tick (--once).",
        )
        pilot.add_argument("feature")
        mode = pilot.add_mutually_exclusive_group()
        mode.add_argument("--once", action="store_true", help="one tick, then exit (default)")
        mode.add_argument(
            "--worker",
            action="store_true",
            help="tick every interval_seconds until the target, the kill switch or SIGTERM",
        )
        mode.add_argument("--status", action="store_true", help="print the autopilot's state")
        mode.add_argument(
            "--stop", action="store_true", help="kill switch: no tick acts until --resume"
        )
        mode.add_argument("--resume", action="store_true", help="turn the kill switch off")
        mode.add_argument(
            "--clear-lock", action="store_true", help="let the autopilot act after a rollback"
        )
        pilot.add_argument("--reason", help="why (--stop, --resume, --clear-lock); audited")
        pilot.add_argument(
            "--actor",
            default=default_actor(),
            help="who is acting, for --stop/--resume/--clear-lock (default: $USER, %(default)s)",
        )
        for sub in (check, status, history, shown, advance, rollback, pilot):
            sub.add_argument(
                "--plans",
                default=str(settings.FICUS_PLANS_DIR),
                help="directory of plan files (default: FICUS_PLANS_DIR, %(default)s)",
            )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        directory = Path(options["plans"])
        if action == "check":
            self.check_plans(directory)
            return
        plans = _load(directory)
        try:
            if action == "status":
                self.status(plans, options["feature"])
            elif action == "history":
                self.history(plans, options["feature"])
            elif action == "evidence":
                services.register_routes(plans=plans)
                found = evidence_report.reports(plans, options["feature"], options["route"])
                self.stdout.write(evidence_report.render(options["feature"], found))
            elif action == "autopilot":
                self.autopilot(plans, options)
            else:
                self.move(plans, action, options)
        except control_errors.GateRefusalError as e:
            self.stderr.write(render_gates(e.results))
            raise CommandError(e.reason) from e
        except control_errors.ControlError as e:
            raise CommandError(e.reason) from e

    def check_plans(self, directory: Path) -> None:
        result = check_plans(directory, environ=os.environ)
        for error in result.errors:
            self.stderr.write(str(error))
        if result.errors:
            count = len(result.errors)
            raise CommandError(f"{count} error{'s' if count != 1 else ''} in plan files")
        try:
            build_route_table(result.plans)
        except ValueError as e:  # cannot happen after the checks above; still, never lie
            raise CommandError(str(e)) from e
        for plan in result.plans:
            self.stdout.write(_summary(plan))
        self.stdout.write(f"{len(result.plans)} plan(s) OK in {display_path(directory)}")

    def status(self, plans: Sequence[Plan], feature: str | None) -> None:
        if feature:
            route_moves.find_plan(plans, feature)
        services.register_routes(plans=plans)
        rows = [
            (
                r.feature,
                f"{r.method} {r.template}",
                r.phase,
                str(r.weight) if r.phase == "canary" else "-",
                _when(r.since),
                r.actor or "(plan file)",
            )
            for r in selectors.status(plans, feature)
        ]
        self.stdout.write(table(("FEATURE", "ROUTE", "PHASE", "WEIGHT", "SINCE", "BY"), rows))

    def history(self, plans: Sequence[Plan], feature: str) -> None:
        route_moves.find_plan(plans, feature)
        services.register_routes(plans=plans)
        rows = [
            (
                str(t.audit_seq or ""),
                _when(t.at),
                t.actor,
                t.action + (" (forced)" if t.forced else ""),
                f"{t.method} {t.template}",
                f"{t.from_phase or '-'} -> {t.to_phase}",
                _weights(t.from_phase, t.from_weight, t.to_phase, t.to_weight),
                t.reason,
            )
            for t in selectors.history(feature)
        ]
        self.stdout.write(
            table(("AUDIT", "AT", "ACTOR", "ACTION", "ROUTE", "PHASE", "WEIGHT", "REASON"), rows)
        )

    def move(self, plans: Sequence[Plan], action: str, options: dict[str, Any]) -> None:
        operation = services.advance if action == "advance" else services.rollback
        outcome = operation(
            plans=plans,
            feature=options["feature"],
            to=options["to"],
            weight=options["weight"],
            route=options["route"],
            reason=options["reason"],
            actor=options["actor"] or "",
            force=options["force"],
        )
        if outcome.gate_results:
            self.stdout.write(render_gates(outcome.gate_results))
        for change in outcome.changes:
            self.stdout.write(
                f"{outcome.feature}: {change.method} {change.template} "
                f"{change.from_phase} -> {change.to_phase}"
                f"{_weight_note(change.to_phase, change.to_weight)}"
            )
        forced = " (FORCED past failing gates; recorded)" if outcome.forced else ""
        self.stdout.write(
            f"{action} recorded as audit record {outcome.audit_seq}, "
            f"control generation {outcome.generation}{forced}"
        )

    def autopilot(self, plans: Sequence[Plan], options: dict[str, Any]) -> None:
        feature = options["feature"]
        person = {"feature": feature, "actor": options["actor"] or "", "reason": options["reason"]}
        for flag, act in (
            ("stop", autopilot_controls.stop),
            ("resume", autopilot_controls.resume),
            ("clear_lock", autopilot_controls.clear_lock),
        ):
            if options[flag]:
                if not (options["reason"] or "").strip():
                    raise CommandError(f"--{flag.replace('_', '-')} needs --reason TEXT (audited)")
                route_moves.find_plan(plans, feature)
                self.stdout.write(act(**person))
                return
        if options["status"]:
            route_moves.find_plan(plans, feature)
            for key, value in autopilot_controls.state_of(feature).items():
                self.stdout.write(f"{key}: {'-' if value is None else value}")
            return
        if not options["worker"]:
            self.stdout.write(autopilot.tick(plans=plans, feature=feature).describe())
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        directory = Path(options["plans"])
        cache = PlanCache(directory, partial(load_plans, environ=os.environ), environ=os.environ)
        ended = autopilot_worker.run_worker(
            plans=cache.plans,  # a reviewed change to the plan files applies from the next tick
            feature=feature,
            stop_signal=stop,
            report=lambda r: self.stdout.write(r.describe()),
        )
        self.stdout.write(f"{feature}: autopilot worker ended ({ended})")


def _load(directory: Path) -> tuple[Plan, ...]:
    try:
        return load_plans(directory, environ=os.environ)
    except PlanError as e:
        raise CommandError(f"{e} (manage.py plan check lists every error)") from e


def render_gates(results: Sequence[dict[str, Any]]) -> str:
    rows = [
        (
            str(r["phase"]),
            str(r["gate"]),
            _number(r["threshold"]),
            "-" if r["actual"] is None else _number(r["actual"]),
            "pass" if r["passed"] else "FAIL",
            str(r["reason"]),
        )
        for r in results
    ]
    return table(("PHASE", "GATE", "THRESHOLD", "ACTUAL", "RESULT", "WHY"), rows)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain text table: columns as wide as their widest cell, two spaces apart."""
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    head = "  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()
    return "\n".join([head, *lines]) if rows else f"{head}\n(none)"


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "(plan file)"


def _weights(from_phase: str, from_weight: int, to_phase: str, to_weight: int) -> str:
    if "canary" not in (from_phase, to_phase):
        return "-"
    before = str(from_weight) if from_phase == "canary" else "-"
    after = str(to_weight) if to_phase == "canary" else "-"
    return f"{before} -> {after}"


def _weight_note(phase: str, weight: int) -> str:
    return f" (weight {weight}%)" if phase == "canary" else ""


def _summary(plan: Plan) -> str:
    routes = len(plan.routes)
    source = plan.upstream.instances_from
    where = "" if source == "plan" else f" from {source}"
    return (
        f"{plan.feature}: {routes} route{'s' if routes != 1 else ''}, upstream "
        f"{plan.upstream.name} ({', '.join(plan.upstream.instances)}{where}) [{plan.file}]"
    )
