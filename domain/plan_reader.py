"""One plan file's fields read into a `Plan`, every problem a located `PlanError` (pure).

`domain.plans` reads the directory, checks the plans together and resolves upstream references;
this module reads one file's mapping: its fields, their types and ranges, the routes and their
templates, the upstream and its instances. No Django, no SQLAlchemy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from yaml.nodes import Node

from domain.phases import Phase
from domain.plan_autopilot import AUTOPILOT_FIELDS, read_autopilot
from domain.plan_compare import FIELD_LISTS as COMPARE_FIELD_LISTS
from domain.plan_faces import read_faces
from domain.plan_legacy_session import LEGACY_SESSION_FIELDS, WHOAMI_FIELDS, read_legacy_session
from domain.plan_model import (
    DEFAULT_PIN_SECONDS,
    GATED_PHASES,
    MAX_PIN_SECONDS,
    METHODS,
    CohortKey,
    CohortKind,
    ContractSettings,
    Plan,
    PlanRoute,
    ShadowSettings,
    SyncSettings,
    no_gates,
)
from domain.plan_rpc import RPC_FIELDS, read_rpc
from domain.plan_sections import (
    COHORT_FIELDS,
    GATE_FIELDS,
    HEALTH_FIELDS,
    SHADOW_FIELDS,
    SYNC_FIELDS,
    SectionReader,
)
from domain.plan_upstream import UPSTREAM_FIELDS, read_upstream
from domain.plan_yaml import line_of
from domain.route_templates import Param, TemplateError, parse_template
from domain.routes import LEGACY_FEATURE, LEGACY_UPSTREAM, TrailingSlash

PLAN_SUFFIX: Final = ".yaml"
PHASES: Final = tuple(p.value for p in Phase)
_NAME_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,39}")
_TABLE_RE: Final = re.compile(r"[A-Z][A-Z0-9_]{0,63}")

_TOP_FIELDS: Final = (
    "feature",
    "owner",
    "description",
    "upstream",
    "legacy_tables",
    "pin_reads_after_write_seconds",
    "cohort",
    "data_owner",
    "canary_writes",
    "trailing_slash",
    "allow_path_params",
    "routes",
    "gates",
    "shadow",
    "contract",
    "sync",
    "autopilot",
    "legacy_session",
    "faces",
)
_TOP_REQUIRED: Final = frozenset({"feature", "owner", "upstream", "legacy_tables", "routes"})
_ROUTE_FIELDS: Final = ("method", "path", "phase", "rpc")
_ROUTE_REQUIRED: Final = frozenset({"method", "path"})

# Field lists by place in the document, for the test that keeps docs/plan.schema.json equal.
FIELDS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "plan": _TOP_FIELDS,
        "upstream": UPSTREAM_FIELDS,
        "upstream.health": HEALTH_FIELDS,
        "routes[]": _ROUTE_FIELDS,
        "routes[].rpc": RPC_FIELDS,
        "cohort": COHORT_FIELDS,
        "gates": tuple(p.value for p in GATED_PHASES),
        "gates.*": GATE_FIELDS,
        "shadow": SHADOW_FIELDS,
        "sync": SYNC_FIELDS,
        "autopilot": AUTOPILOT_FIELDS,
        "legacy_session": LEGACY_SESSION_FIELDS,
        "legacy_session.whoami": WHOAMI_FIELDS,
        **COMPARE_FIELD_LISTS,
    }
)


def _template_params(path: str) -> dict[str, Param]:
    return {s.name: s for s in parse_template(path).segments if isinstance(s, Param)}


class PlanReader(SectionReader):
    """The plan grammar: the fields every plan has, and the checks that relate fields."""

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
        upstream = (
            read_upstream(self, fields["upstream"], environ, self.name)
            if "upstream" in fields
            else None
        )
        tables = self.tables(fields["legacy_tables"]) if "legacy_tables" in fields else None
        pin_seconds: float | None = DEFAULT_PIN_SECONDS
        if "pin_reads_after_write_seconds" in fields:
            pin_seconds = self.number(
                fields["pin_reads_after_write_seconds"],
                "pin_reads_after_write_seconds",
                minimum=0,
                maximum=MAX_PIN_SECONDS,
                unit="seconds",
                note="0 turns it off",
            )
        cohort: CohortKey | None = CohortKey()
        if "cohort" in fields:
            cohort = self.cohort_key(fields["cohort"], "cohort")
        data_owner = None
        if "data_owner" in fields:
            data_owner = self.cohort_key(fields["data_owner"], "data_owner")
        canary_writes: bool | None = False
        if "canary_writes" in fields:
            canary_writes = self.boolean(fields["canary_writes"], "canary_writes")
        trailing_slash = TrailingSlash.STRICT
        if "trailing_slash" in fields:
            choice = self.choice(
                fields["trailing_slash"], "trailing_slash", tuple(t.value for t in TrailingSlash)
            )
            trailing_slash = TrailingSlash(choice) if choice else trailing_slash
        allow_path_params: bool | None = False
        if "allow_path_params" in fields:
            allow_path_params = self.boolean(fields["allow_path_params"], "allow_path_params")
        routes = self.routes(fields["routes"]) if "routes" in fields else None
        gates = self.gates(fields["gates"]) if "gates" in fields else no_gates()
        shadow: ShadowSettings | None = ShadowSettings()
        if "shadow" in fields:
            shadow = self.shadow(fields["shadow"])
        contract: ContractSettings | None = ContractSettings()
        if "contract" in fields:
            contract = self.contract(fields["contract"])
        sync: SyncSettings | None = SyncSettings()
        if "sync" in fields:
            sync = self.sync(fields["sync"])
        # None after an error is fine: a plan with any error is not returned (plans.parse_plan).
        autopilot = read_autopilot(self, fields["autopilot"]) if "autopilot" in fields else None
        legacy_session = None
        if "legacy_session" in fields:
            legacy_session = read_legacy_session(self, fields["legacy_session"])
        faces = read_faces(self, fields["faces"]) if "faces" in fields else ()

        # Checks that relate fields to each other, once each field is known to be well formed.
        if routes is not None:
            self.check_routes_fit(routes, trailing_slash, cohort, data_owner)
        owner_known = "data_owner" not in fields or data_owner is not None
        if cohort is not None and canary_writes and owner_known:
            self.check_canary_writes(fields["canary_writes"], cohort, data_owner)

        if feature is None or owner is None or upstream is None or tables is None:
            return None
        if routes is None or pin_seconds is None or cohort is None or gates is None:
            return None
        if canary_writes is None or allow_path_params is None or shadow is None:
            return None
        if contract is None or sync is None or ("data_owner" in fields and data_owner is None):
            return None
        if faces is None:
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
            cohort=cohort,
            data_owner=data_owner,
            canary_writes=canary_writes,
            trailing_slash=trailing_slash,
            allow_path_params=allow_path_params,
            gates=gates,
            shadow=shadow,
            contract=contract,
            sync=sync,
            autopilot=autopilot,
            legacy_session=legacy_session,
            faces=faces,
            lines=self.lines,
        )

    # -- upstream ---------------------------------------------------------------------------

    # -- tables and routes ------------------------------------------------------------------

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
        return tuple(routes) if len(routes) == len(nodes) else None

    def route(self, node: Node, prefix: str) -> PlanRoute | None:
        fields = self.mapping(node, prefix, _ROUTE_FIELDS, _ROUTE_REQUIRED)
        if fields is None:
            return None
        method = path = None
        phase: Phase | None = Phase.LEGACY
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
            except TemplateError as e:
                self.fail(fields["path"], f"{prefix}.path", str(e))
            else:
                path = value
        if "phase" in fields:
            phase = None
            if value := self.string(fields["phase"], f"{prefix}.phase"):
                if value in PHASES:
                    phase = Phase(value)
                else:
                    self.fail(
                        fields["phase"],
                        f"{prefix}.phase",
                        f"{value!r} is not a phase (use {', '.join(PHASES)})",
                    )
        rpc = None
        if (
            "rpc" in fields
            and (rpc := read_rpc(self, fields["rpc"], f"{prefix}.rpc", method)) is None
        ):
            return None
        if method is None or path is None or phase is None:
            return None
        return PlanRoute(method, path, phase, line_of(node), rpc)

    # -- fields that must fit the routes --------------------------------------------------

    def check_routes_fit(
        self,
        routes: tuple[PlanRoute, ...],
        trailing_slash: TrailingSlash,
        cohort: CohortKey | None,
        data_owner: CohortKey | None,
    ) -> None:
        params = [_template_params(route.path) for route in routes]
        if trailing_slash is TrailingSlash.MATCH:
            for index, route in enumerate(routes):
                if route.path != "/" and route.path.endswith("/"):
                    self.fail(
                        self.lines[f"routes[{index}].path"],
                        f"routes[{index}].path",
                        f"{route.path!r} ends in '/', but with trailing_slash: match the route "
                        "of /x also takes /x/: write the template without the trailing slash",
                    )
        for prefix, key in (("cohort", cohort), ("data_owner", data_owner)):
            if key is None or key.kind is not CohortKind.PATH or key.name is None:
                continue
            if not any(key.name in p for p in params):
                known = sorted({name for p in params for name in p})
                self.fail(
                    self.lines[f"{prefix}.name"],
                    f"{prefix}.name",
                    f"no route template has a parameter {key.name!r} "
                    f"(parameters: {', '.join(known) or 'none'})",
                )
        if cohort is not None and cohort.kind is CohortKind.PATH and cohort.name is not None:
            for index, route in enumerate(routes):
                # A route without the parameter has no cohort: while in canary its requests
                # could only stay on legacy, so a plan must not *start* it there.
                if route.phase is Phase.CANARY and cohort.name not in params[index]:
                    self.fail(
                        route.line,
                        f"routes[{index}].phase",
                        f"{route.describe()} has no parameter {cohort.name!r}, the plan's "
                        "path cohort, so a canary cannot split its requests",
                    )
        declared = {route.describe() for route in routes}
        for named, field in self.named_routes:
            if named not in declared:
                self.fail(
                    self.lines[field],
                    field,
                    f"{named!r} is not one of this plan's routes ({', '.join(sorted(declared))})",
                )
