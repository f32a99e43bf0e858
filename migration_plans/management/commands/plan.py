"""`manage.py plan check`: validate every plan file, as CI and reviewers do before a merge.

Prints one line per valid plan, or every error as `file:line: field: message` and exits 1.
It builds the route table as the proxy would, so a plan that passes here loads in the proxy.
The control-plane actions (status, advance, rollback, history) join this command next.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from migration_plans.plans import Plan, check_plans, display_path
from migration_plans.route_table import build_route_table


class Command(BaseCommand):
    help = "Work with migration plans. Actions: check."
    requires_system_checks: list[str] = []  # reads files only

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        check = actions.add_parser(
            "check",
            help="validate every plan file; print one line per plan or each error",
            description="Validate every plan file (*.yaml) in the plans directory and check "
            "them against each other (overlapping routes, tables owned twice). Errors print as "
            "file:line: field: message and make the command exit 1.",
        )
        check.add_argument(
            "--plans",
            default=str(settings.FICUS_PLANS_DIR),
            help="directory of plan files (default: FICUS_PLANS_DIR, %(default)s)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "check":
            self.check_plans(Path(options["plans"]))

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


def _summary(plan: Plan) -> str:
    routes = len(plan.routes)
    source = plan.upstream.instances_from
    where = "" if source == "plan" else f" from {source}"
    return (
        f"{plan.feature}: {routes} route{'s' if routes != 1 else ''}, upstream "
        f"{plan.upstream.name} ({', '.join(plan.upstream.instances)}{where}) [{plan.file}]"
    )
