"""Plan files: one YAML file per feature, parsed into dataclasses, every error located.

Plans are code that a change-advisory board reviews, so a mistake is reported like a compiler
would: `file:line: field: message`, every one of them (`domain.plan_yaml` does the
located reading). This module is the grammar: which fields a plan has, what values they take,
and which combinations make no sense. Unknown fields are errors at every level, so a typo
never silently does nothing. docs/plans.md is the reference; docs/plan.schema.json describes
the same format for YAML editors (a test keeps the two field lists equal).

Checks that need the whole plan run after its fields are read: a path cohort naming a
parameter no route has, `canary_writes` with a cohort that is not the data owner's key (one
writer per record), a contract difference naming a route the plan does not declare. Checks
across files belong here too, because only here are both files known: a route that overlaps
another plan's route (same method, same template shape), a legacy table owned by two plans,
an upstream declared twice with different instances or health checks, and two different
`legacy_session:` sections (one legacy app: domain.plan_legacy_session). Templates are
checked with the routing core's own parser (`domain.routing`, pure), so the plan checker and
the proxy can never disagree about what a template means.

`pin_reads_after_write_seconds` (optional, default 5, 0 turns it off) is how long the proxy
keeps a session's reads of the feature on legacy after that session wrote to the feature through
legacy (read-your-writes while forward sync catches up; see `proxy.pins`).

Instance URLs can be replaced per deployment with `FICUS_UPSTREAM_<NAME>=url,url` (the
environment is passed in, so tests and `plan check` see exactly what the proxy will).

The pieces: `plan_yaml` reads located values, `plan_model` holds the dataclasses (re-exported
here, so `from domain.plans import Plan, Gate` is the one import callers need),
`plan_sections` reads the optional sections (`plan_compare` the contract and shadow.compare);
this module is the plan grammar and the checks.

No Django, no SQLAlchemy: this module is imported by the proxy as well as by the control plane.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from domain.plan_legacy_session import check_legacy_sessions
from domain.plan_model import (
    DEFAULT_PIN_SECONDS,
    GATED_PHASES,
    METHODS,
    AllowedDifference,
    AutopilotSettings,
    CohortKey,
    CohortKind,
    CompareSettings,
    ContractSettings,
    Gate,
    HealthCheck,
    NoiseSettings,
    NonOwnerWrites,
    Plan,
    PlanCheck,
    PlanRoute,
    RouteCompare,
    ShadowSettings,
    SyncSettings,
    Upstream,
    VolatileField,
)
from domain.plan_reader import FIELDS, PLAN_SUFFIX, PlanReader
from domain.plan_upstream import UPSTREAM_REFERENCE, instance_url_problem, upstream_env_var
from domain.plan_yaml import PlanError, compose
from domain.route_templates import ShapeKey, parse_template
from domain.routes import TrailingSlash

__all__ = [
    "DEFAULT_PIN_SECONDS",
    "FIELDS",
    "GATED_PHASES",
    "METHODS",
    "AllowedDifference",
    "AutopilotSettings",
    "CohortKey",
    "CohortKind",
    "CompareSettings",
    "ContractSettings",
    "Gate",
    "HealthCheck",
    "NoiseSettings",
    "NonOwnerWrites",
    "Plan",
    "PlanCheck",
    "PlanError",
    "PlanRoute",
    "RouteCompare",
    "ShadowSettings",
    "SyncSettings",
    "TrailingSlash",
    "Upstream",
    "VolatileField",
    "check_plans",
    "display_path",
    "instance_url_problem",
    "load_plans",
    "parse_plan",
    "upstream_env_var",
]


def display_path(path: Path) -> str:
    """The path as errors show it: relative to the working directory when it is below it."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except ValueError:  # another drive on Windows
        return str(path)


def check_plans(directory: Path, *, environ: Mapping[str, str]) -> PlanCheck:
    """Parse every plan in directory and check them together; collect every error."""
    shown = display_path(directory)
    if not directory.is_dir():
        return PlanCheck((), (PlanError(shown, 0, "(directory)", "is not a directory"),))
    plans: list[Plan] = []
    errors: list[PlanError] = []
    for path in sorted(directory.iterdir()):
        if path.suffix == ".yml":
            errors.append(PlanError(display_path(path), 0, "(file)", "plan files end in .yaml"))
        if path.suffix != PLAN_SUFFIX or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            errors.append(PlanError(display_path(path), 0, "(file)", f"cannot be read: {e}"))
            continue
        plan, file_errors = parse_plan(
            text, file=display_path(path), feature=path.stem, environ=environ
        )
        errors.extend(file_errors)
        if plan is not None:
            plans.append(plan)
    plans, unknown = _resolve_upstream_references(plans)
    errors.extend(unknown)
    errors.extend(_check_across(plans))
    return PlanCheck(tuple(plans), tuple(errors))


def _resolve_upstream_references(plans: list[Plan]) -> tuple[list[Plan], list[PlanError]]:
    """Plans whose `upstream: NAME` is replaced by the upstream another plan declares.

    A reference to an upstream no plan declares is an error, and that plan is left out, since
    the proxy could not send its routes anywhere.
    """
    declared = {p.upstream.name: p.upstream for p in plans if not _refers(p)}
    resolved: list[Plan] = []
    errors: list[PlanError] = []
    for plan in plans:
        if not _refers(plan):
            resolved.append(plan)
        elif (upstream := declared.get(plan.upstream.name)) is not None:
            resolved.append(replace(plan, upstream=upstream))
        else:
            known = ", ".join(sorted(declared)) or "none"
            errors.append(
                PlanError(
                    plan.file,
                    plan.line_of("upstream"),
                    "upstream",
                    f"unknown upstream {plan.upstream.name!r}: no plan declares it with a name "
                    f"and instances (declared: {known})",
                )
            )
    return resolved, errors


def _refers(plan: Plan) -> bool:
    return plan.upstream.instances_from == UPSTREAM_REFERENCE


def load_plans(directory: Path, *, environ: Mapping[str, str]) -> tuple[Plan, ...]:
    """The plans in directory, or the first PlanError (`manage.py plan check` lists them all)."""
    result = check_plans(directory, environ=environ)
    if result.errors:
        raise result.errors[0]
    return result.plans


def parse_plan(
    text: str, *, file: str, feature: str | None = None, environ: Mapping[str, str]
) -> tuple[Plan | None, list[PlanError]]:
    """Parse one plan's text. `feature`, when given, is what the file name says it must be."""
    root, errors = compose(text, file)
    if root is None:
        return None, errors
    reader = PlanReader(file)
    plan = reader.plan(root, expected_feature=feature, environ=environ)
    # In the order found: each field's own problems in document order (an unknown field
    # before the "is required" it explains), then the checks that relate fields.
    return (plan if not reader.errors else None), reader.errors


def _shape_keys(plan: Plan, route: PlanRoute) -> list[ShapeKey]:
    """The shapes a route answers: with trailing_slash: match, `/x` also takes `/x/`."""
    key = parse_template(route.path).key
    if plan.trailing_slash is TrailingSlash.MATCH and key[-1:] != ("",):
        return [key, (*key, "")]
    return [key]


def _check_across(plans: list[Plan]) -> list[PlanError]:
    """Problems only visible with every plan at hand: overlaps and double ownership."""
    errors: list[PlanError] = []
    seen_shapes: dict[tuple[str, ShapeKey, str], tuple[Plan, int]] = {}
    table_owner: dict[str, Plan] = {}
    upstreams: dict[str, Plan] = {}
    face_owner: dict[str, tuple[Plan, int]] = {}
    for plan in plans:
        for index, face in enumerate(plan.faces):
            field = f"faces[{index}]"
            if (seen := face_owner.get(face)) is not None:
                other, other_index = seen
                where = other.where(other.line_of(f"faces[{other_index}]"))
                errors.append(
                    PlanError(
                        plan.file,
                        plan.line_of(field),
                        field,
                        f"{face!r} is already a face of feature {other.feature!r} ({where})",
                    )
                )
            else:
                face_owner[face] = (plan, index)
        for index, route in enumerate(plan.routes):
            label = "" if route.rpc is None else route.rpc.label
            keys = [(route.method, key, label) for key in _shape_keys(plan, route)]
            clash = next((seen_shapes[k] for k in keys if k in seen_shapes), None)
            if clash is not None:
                other_plan, other_index = clash
                other_route = other_plan.routes[other_index]
                other_line = other_plan.line_of(f"routes[{other_index}].path")
                errors.append(
                    PlanError(
                        plan.file,
                        plan.line_of(f"routes[{index}].path"),
                        f"routes[{index}].path",
                        f"{route.describe()} overlaps {other_route.describe()} "
                        f"of feature {other_plan.feature!r} "
                        f"({other_plan.where(other_line)}): both match the same requests",
                    )
                )
            else:
                for k in keys:
                    seen_shapes[k] = (plan, index)
        for index, table in enumerate(plan.legacy_tables):
            if (owner := table_owner.get(table)) is not None:
                errors.append(
                    PlanError(
                        plan.file,
                        plan.line_of(f"legacy_tables[{index}]"),
                        f"legacy_tables[{index}]",
                        f"{table!r} is already owned by feature {owner.feature!r} "
                        f"({owner.where(owner.line_of(_table_field(owner, table)))})",
                    )
                )
            else:
                table_owner[table] = plan
        errors.extend(_check_shared_upstream(plan, upstreams))
    errors.extend(check_legacy_sessions(plans))
    return errors


def _check_shared_upstream(plan: Plan, upstreams: dict[str, Plan]) -> list[PlanError]:
    name = plan.upstream.name
    first = upstreams.setdefault(name, plan)
    if first is plan:
        return []
    errors: list[PlanError] = []
    for field_name, differs in (
        ("upstream.instances", first.upstream.instances != plan.upstream.instances),
        ("upstream.health", first.upstream.health != plan.upstream.health),
    ):
        if differs:
            what = field_name.split(".")[1]
            errors.append(
                PlanError(
                    plan.file,
                    plan.line_of(field_name) or plan.line_of("upstream"),
                    field_name,
                    f"upstream {name!r} is also declared by feature {first.feature!r} "
                    f"({first.where(first.line_of(field_name) or first.line_of('upstream'))}) "
                    f"with other {what}",
                )
            )
    return errors


def _table_field(plan: Plan, table: str) -> str:
    return f"legacy_tables[{plan.legacy_tables.index(table)}]"
