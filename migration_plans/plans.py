"""Plan files: one YAML file per feature, parsed into dataclasses, every error located.

Plans are code that a change-advisory board reviews, so a mistake must be reported like a
compiler would: `file:line: field: message`. The parser therefore works on `yaml.compose`
nodes, which carry their line numbers, rather than on the plain dicts `yaml.safe_load` returns,
and it checks every field it can instead of stopping at the first problem. Only YAML's standard
scalar types are accepted (no tags), so a plan can never construct objects.

Checks across files belong here too, because only here are both files known: a route that
overlaps another plan's route (same method, same template shape), a legacy table owned by two
plans, and an upstream name declared with two different instance lists. Templates are checked
with the routing core's own parser (`proxy.routing`, pure), so the plan checker and the proxy
can never disagree about what a template means.

`pin_reads_after_write_seconds` (optional, default 5, 0 turns it off) is how long the proxy
keeps a session's reads of the feature on legacy after that session wrote to the feature through
legacy (read-your-writes while forward sync catches up; see `proxy.pins`).

Instance URLs can be replaced per deployment with `FICUS_UPSTREAM_<NAME>=url,url` (the
environment is passed in, so tests and `plan check` see exactly what the proxy will).

No Django, no SQLAlchemy: this module is imported by the proxy as well as by the control plane.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from proxy.pins import MAX_PIN_SECONDS
from proxy.routing import LEGACY_FEATURE, LEGACY_UPSTREAM, Phase, ShapeKey, parse_template

PLAN_SUFFIX: Final = ".yaml"
ENV_PREFIX: Final = "FICUS_UPSTREAM_"
METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
PHASES: Final = tuple(p.value for p in Phase)
_NAME_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,39}")
_TABLE_RE: Final = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
_STR_TAG: Final = "tag:yaml.org,2002:str"
_INT_TAG: Final = "tag:yaml.org,2002:int"
_FLOAT_TAG: Final = "tag:yaml.org,2002:float"
DEFAULT_PIN_SECONDS: Final = 5.0

_TOP_FIELDS: Final = (
    "feature",
    "owner",
    "description",
    "upstream",
    "legacy_tables",
    "pin_reads_after_write_seconds",
    "routes",
)
_TOP_REQUIRED: Final = frozenset({"feature", "owner", "upstream", "legacy_tables", "routes"})
_UPSTREAM_FIELDS: Final = ("name", "instances")
_ROUTE_FIELDS: Final = ("method", "path", "phase")


class PlanError(ValueError):
    """One problem in one plan file, located to the line and the field."""

    def __init__(self, file: str, line: int, field: str, message: str) -> None:
        super().__init__(f"{file}:{line}: {field}: {message}")
        self.file = file
        self.line = line
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class PlanRoute:
    method: str
    path: str
    phase: Phase
    line: int


@dataclass(frozen=True, slots=True)
class Upstream:
    name: str
    instances: tuple[str, ...]
    # "plan" or the environment variable that replaced the plan's list, for `plan check`.
    instances_from: str = "plan"


@dataclass(frozen=True, slots=True)
class Plan:
    file: str
    feature: str
    owner: str
    description: str
    upstream: Upstream
    legacy_tables: tuple[str, ...]
    routes: tuple[PlanRoute, ...]
    # Read-your-writes: how long a session's reads of this feature stay on legacy after the
    # session wrote to it through legacy. 0 turns pinning off.
    pin_reads_after_write_seconds: float = DEFAULT_PIN_SECONDS
    # The line of each field read ("upstream.instances", "legacy_tables[0]", ...), for errors
    # that are found only when plans are compared.
    lines: Mapping[str, int] = field(default_factory=dict, compare=False)

    def line_of(self, field_name: str) -> int:
        return self.lines.get(field_name, 0)

    def where(self, line: int) -> str:
        return f"{self.file}:{line}"


@dataclass(frozen=True, slots=True)
class PlanCheck:
    plans: tuple[Plan, ...]
    errors: tuple[PlanError, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.errors


def upstream_env_var(upstream_name: str) -> str:
    return ENV_PREFIX + upstream_name.upper()


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
    errors.extend(_check_across(plans))
    return PlanCheck(tuple(plans), tuple(errors))


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
    reader = _Reader(file)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 0
        reader.errors.append(PlanError(file, line, "(yaml)", e.problem or str(e)))
        return None, reader.errors
    except yaml.YAMLError as e:
        reader.errors.append(PlanError(file, 0, "(yaml)", str(e)))
        return None, reader.errors
    if root is None:
        reader.errors.append(PlanError(file, 1, "(document)", "the file is empty"))
        return None, reader.errors
    plan = reader.plan(root, expected_feature=feature, environ=environ)
    return (plan if not reader.errors else None), reader.errors


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    tag = str(node.tag).rsplit(":", 1)[-1]
    return {"null": "nothing (null)", "bool": "a boolean", "int": "a number"}.get(tag, tag)


class _Reader:
    """Walks composed nodes, turning each problem into a PlanError and carrying on."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[PlanError] = []
        self.lines: dict[str, int] = {}

    def fail(self, node_or_line: Node | int, field: str, message: str) -> None:
        line = node_or_line if isinstance(node_or_line, int) else _line(node_or_line)
        self.errors.append(PlanError(self.file, line, field, message))

    def mapping(
        self, node: Node, prefix: str, allowed: tuple[str, ...], required: frozenset[str]
    ) -> dict[str, Node] | None:
        if not isinstance(node, MappingNode):
            self.fail(node, prefix or "(document)", f"expected a mapping, got {_kind(node)}")
            return None
        values: dict[str, Node] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            name = f"{prefix}.{key}" if prefix else str(key)
            if not isinstance(key, str) or key not in allowed:
                self.fail(key_node, name, f"unknown field (expected {', '.join(allowed)})")
            elif key in values:
                self.fail(key_node, name, f"is given twice (first on line {first_line[key]})")
            else:
                values[key] = value_node
                first_line[key] = _line(key_node)
        for missing in sorted(required - values.keys()):
            self.fail(node, f"{prefix}.{missing}" if prefix else missing, "is required")
        return values

    def string(self, node: Node, field: str) -> str | None:
        self.lines[field] = _line(node)
        if not isinstance(node, ScalarNode) or node.tag != _STR_TAG:
            self.fail(node, field, f"expected a string, got {_kind(node)}")
            return None
        value = str(node.value).strip()
        if not value:
            self.fail(node, field, "must not be empty")
            return None
        return value

    def items(self, node: Node, field: str) -> list[Node] | None:
        self.lines[field] = _line(node)
        if not isinstance(node, SequenceNode):
            self.fail(node, field, f"expected a list, got {_kind(node)}")
            return None
        return list(node.value)

    def name(self, node: Node, field: str) -> str | None:
        value = self.string(node, field)
        if value is None:
            return None
        if not _NAME_RE.fullmatch(value):
            self.fail(node, field, f"{value!r} must be lower case letters, digits and '_'")
            return None
        if value in (LEGACY_FEATURE, LEGACY_UPSTREAM):
            self.fail(node, field, f"{value!r} is reserved for the legacy default route")
            return None
        return value

    def plan(
        self, root: Node, *, expected_feature: str | None, environ: Mapping[str, str]
    ) -> Plan | None:
        fields = self.mapping(root, "", _TOP_FIELDS, _TOP_REQUIRED)
        if fields is None:
            return None
        feature = self.name(fields["feature"], "feature") if "feature" in fields else None
        if feature is not None and expected_feature is not None and feature != expected_feature:
            self.fail(
                fields["feature"],
                "feature",
                f"{feature!r} does not match the file name (expected {expected_feature!r})",
            )
        owner = self.string(fields["owner"], "owner") if "owner" in fields else None
        description = ""
        if "description" in fields:
            description = self.string(fields["description"], "description") or ""
        upstream = self.upstream(fields["upstream"], environ) if "upstream" in fields else None
        tables = self.tables(fields["legacy_tables"]) if "legacy_tables" in fields else None
        pin_seconds: float | None = DEFAULT_PIN_SECONDS
        if "pin_reads_after_write_seconds" in fields:
            pin_seconds = self.seconds(
                fields["pin_reads_after_write_seconds"],
                "pin_reads_after_write_seconds",
                maximum=MAX_PIN_SECONDS,
            )
        routes = self.routes(fields["routes"]) if "routes" in fields else None
        if feature is None or owner is None or upstream is None:
            return None
        if tables is None or routes is None or pin_seconds is None:
            return None
        return Plan(
            self.file,
            feature,
            owner,
            description,
            upstream,
            tables,
            routes,
            pin_reads_after_write_seconds=pin_seconds,
            lines=self.lines,
        )

    def seconds(self, node: Node, field: str, *, maximum: float) -> float | None:
        """A duration in seconds: a plain YAML int or float, 0 <= value <= maximum."""
        self.lines[field] = _line(node)
        if not isinstance(node, ScalarNode) or node.tag not in (_INT_TAG, _FLOAT_TAG):
            self.fail(node, field, f"expected a number of seconds, got {_kind(node)}")
            return None
        try:
            constructor = SafeConstructor()
            if node.tag == _INT_TAG:
                value = float(constructor.construct_yaml_int(node))
            else:
                value = float(constructor.construct_yaml_float(node))
        except (ConstructorError, ValueError, OverflowError):
            self.fail(node, field, f"{node.value!r} is not a number of seconds")
            return None
        if not math.isfinite(value) or not 0 <= value <= maximum:
            self.fail(
                node,
                field,
                f"{node.value!r} is out of range (0 to {maximum:g} seconds; 0 turns it off)",
            )
            return None
        return value

    def upstream(self, node: Node, environ: Mapping[str, str]) -> Upstream | None:
        fields = self.mapping(node, "upstream", _UPSTREAM_FIELDS, frozenset(_UPSTREAM_FIELDS))
        if fields is None or "name" not in fields or "instances" not in fields:
            return None
        name = self.name(fields["name"], "upstream.name")
        instances: list[str] = []
        for index, item in enumerate(self.items(fields["instances"], "upstream.instances") or []):
            url = self.string(item, f"upstream.instances[{index}]")
            if url is not None and (problem := instance_url_problem(url)):
                self.fail(item, f"upstream.instances[{index}]", problem)
            elif url is not None:
                instances.append(url)
        if isinstance(fields["instances"], SequenceNode) and not fields["instances"].value:
            self.fail(fields["instances"], "upstream.instances", "lists no instance")
        if name is None:
            return None
        var = upstream_env_var(name)
        override = environ.get(var, "").strip()
        if override:
            urls = [u.strip() for u in override.split(",") if u.strip()]
            problems = [p for u in urls if (p := instance_url_problem(u))]
            for problem in problems or ([] if urls else ["lists no instance"]):
                self.fail(fields["instances"], "upstream.instances", f"{var}: {problem}")
            return Upstream(name, tuple(urls), var)
        return Upstream(name, tuple(instances))

    def tables(self, node: Node) -> tuple[str, ...] | None:
        nodes = self.items(node, "legacy_tables")
        if nodes is None:
            return None
        tables: list[str] = []
        for index, item in enumerate(nodes):
            field_name = f"legacy_tables[{index}]"
            table = self.string(item, field_name)
            if table is None:
                continue
            if not _TABLE_RE.fullmatch(table):
                self.fail(item, field_name, f"{table!r} is not an UPPER_CASE table name")
            elif table in tables:
                self.fail(item, field_name, f"{table!r} is listed twice")
            else:
                tables.append(table)
        return tuple(tables)

    def routes(self, node: Node) -> tuple[PlanRoute, ...] | None:
        nodes = self.items(node, "routes")
        if nodes is None:
            return None
        if not nodes:
            self.fail(node, "routes", "lists no route (a plan moves at least one route)")
        routes: list[PlanRoute] = []
        for index, item in enumerate(nodes):
            route = self.route(item, f"routes[{index}]")
            if route is not None:
                routes.append(route)
        return tuple(routes)

    def route(self, node: Node, prefix: str) -> PlanRoute | None:
        fields = self.mapping(node, prefix, _ROUTE_FIELDS, frozenset(_ROUTE_FIELDS))
        if fields is None:
            return None
        method = path = phase = None
        if "method" in fields and (value := self.string(fields["method"], f"{prefix}.method")):
            if value in METHODS:
                method = value
            elif value.upper() in METHODS:
                self.fail(
                    fields["method"], f"{prefix}.method", f"use upper case: {value.upper()!r}"
                )
            else:
                self.fail(
                    fields["method"],
                    f"{prefix}.method",
                    f"{value!r} is not a method Ficus routes (use {', '.join(METHODS)})",
                )
        if "path" in fields and (value := self.string(fields["path"], f"{prefix}.path")):
            try:
                parse_template(value)
            except ValueError as e:
                self.fail(fields["path"], f"{prefix}.path", str(e))
            else:
                path = value
        if "phase" in fields and (value := self.string(fields["phase"], f"{prefix}.phase")):
            if value in PHASES:
                phase = Phase(value)
            else:
                self.fail(
                    fields["phase"],
                    f"{prefix}.phase",
                    f"{value!r} is not a phase (use {', '.join(PHASES)})",
                )
        if method is None or path is None or phase is None:
            return None
        return PlanRoute(method, path, phase, _line(node))


def instance_url_problem(url: str) -> str | None:
    """Why url cannot be an upstream instance, or None if it can."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as e:
        return f"{url!r} is not a valid URL ({e})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} must look like http://host:port"
    if parts.username or parts.password:
        return f"{url!r} must not carry credentials"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return f"{url!r} must not have a path, query or fragment (the proxy forwards the path)"
    return None


def _check_across(plans: list[Plan]) -> list[PlanError]:
    """Problems only visible with every plan at hand: overlaps and double ownership."""
    errors: list[PlanError] = []
    seen_shapes: dict[tuple[str, ShapeKey], tuple[Plan, int]] = {}
    table_owner: dict[str, Plan] = {}
    upstreams: dict[str, Plan] = {}
    for plan in plans:
        for index, route in enumerate(plan.routes):
            key = (route.method, parse_template(route.path).key)
            if (other := seen_shapes.get(key)) is not None:
                other_plan, other_index = other
                other_route = other_plan.routes[other_index]
                other_line = other_plan.line_of(f"routes[{other_index}].path")
                errors.append(
                    PlanError(
                        plan.file,
                        plan.line_of(f"routes[{index}].path"),
                        f"routes[{index}].path",
                        f"{route.method} {route.path} overlaps {other_route.method} "
                        f"{other_route.path} of feature {other_plan.feature!r} "
                        f"({other_plan.where(other_line)}): both match the same requests",
                    )
                )
            else:
                seen_shapes[key] = (plan, index)
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
        name = plan.upstream.name
        if (first := upstreams.get(name)) is not None:
            if first.upstream.instances != plan.upstream.instances:
                errors.append(
                    PlanError(
                        plan.file,
                        plan.line_of("upstream.instances"),
                        "upstream.instances",
                        f"upstream {name!r} is also declared by feature {first.feature!r} "
                        f"({first.where(first.line_of('upstream.instances'))}) "
                        "with other instances",
                    )
                )
        else:
            upstreams[name] = plan
    return errors


def _table_field(plan: Plan, table: str) -> str:
    return f"legacy_tables[{plan.legacy_tables.index(table)}]"
