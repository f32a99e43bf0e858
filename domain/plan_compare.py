"""Reading how a plan's shadowed answers are compared: `shadow.compare` and the `contract`.

Two sections say it, each one fact once:

- `contract` is the legacy contract: `volatile_fields` (JSON members whose values differ by
  nature, ignored wherever answers are compared: the contract tests and shadow) and
  `differences` (what the service may do differently, each with the reason a reviewer
  accepted; one with a `path` is also counted as *accepted* by shadow comparison on its route,
  never as a real difference);
- `shadow.compare` is how shadow compares: the headers, the keys of arrays, the generated values
  of writes, the noise measure and its thresholds, and how many evidence samples are kept for
  how long; `routes` gives one route its own headers, array keys and generated values.

Paths are `domain.compare_paths` patterns. Every problem is located (file, line, field); routes
named here are checked against the plan's routes by `domain.plan_reader`.

Pure: PyYAML nodes and the standard library.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Final

from yaml.nodes import Node

from domain.compare_paths import MEMBER_RE, PATTERN_RE
from domain.plan_model import (
    METHODS,
    AllowedDifference,
    CompareSettings,
    ContractSettings,
    NoiseSettings,
    RouteCompare,
    VolatileField,
)
from domain.plan_yaml import NodeReader, line_of

# A JSON member of the legacy answer, or a dotted path into nested objects.
_JSON_FIELD_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
# RFC 9110 token: header and cookie names (the cohort keys' too, in domain.plan_sections).
TOKEN_RE: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

CONTRACT_FIELDS: Final = ("volatile_fields", "differences")
VOLATILE_FIELDS: Final = ("field", "reason")
DIFFERENCE_FIELDS: Final = ("route", "what", "reason", "path")
_DIFFERENCE_REQUIRED: Final = frozenset({"route", "what", "reason"})
COMPARE_FIELDS: Final = (
    "headers",
    "array_keys",
    "generated",
    "noise",
    "max_samples_per_field",
    "retention_days",
    "routes",
)
NOISE_FIELDS: Final = ("sample_percent", "relative_threshold", "absolute_threshold")
ROUTE_COMPARE_FIELDS: Final = ("headers", "array_keys", "generated")
# This module's field lists by place in the document (in domain.plan_reader.FIELDS).
FIELD_LISTS: Final = MappingProxyType(
    {
        "contract": CONTRACT_FIELDS,
        "contract.volatile_fields[]": VOLATILE_FIELDS,
        "contract.differences[]": DIFFERENCE_FIELDS,
        "shadow.compare": COMPARE_FIELDS,
        "shadow.compare.noise": NOISE_FIELDS,
        "shadow.compare.routes.*": ROUTE_COMPARE_FIELDS,
    }
)

MAX_SAMPLES_PER_FIELD: Final = 100
MAX_RETENTION_DAYS: Final = 3650
_PATTERN_HELP: Final = (
    "is not a comparison path (status, header.<name>, or body followed by .member steps; "
    "a step may be * or **, an array step [*])"
)


class CompareReader(NodeReader):
    """The `contract` section and `shadow.compare`, each read into its dataclass."""

    def __init__(self, file: str) -> None:
        super().__init__(file)
        # Routes named by contract differences and compare.routes, with their field, so that
        # the plan reader checks them against the plan's routes even when a section is broken.
        self.named_routes: list[tuple[str, str]] = []

    def contract(self, node: Node) -> ContractSettings | None:
        fields = self.mapping(node, "contract", CONTRACT_FIELDS)
        if fields is None:
            return None
        volatile: list[VolatileField] = []
        differences: list[AllowedDifference] = []
        ok = True
        if "volatile_fields" in fields:
            nodes = self.items(fields["volatile_fields"], "contract.volatile_fields")
            ok = nodes is not None
            seen: dict[str, int] = {}
            for index, item in enumerate(nodes or []):
                entry = self.volatile(item, f"contract.volatile_fields[{index}]", seen)
                ok = ok and entry is not None
                if entry is not None:
                    volatile.append(entry)
        if "differences" in fields:
            nodes = self.items(fields["differences"], "contract.differences")
            ok = ok and nodes is not None
            for index, item in enumerate(nodes or []):
                difference = self.difference(item, f"contract.differences[{index}]")
                ok = ok and difference is not None
                if difference is not None:
                    differences.append(difference)
        return ContractSettings(tuple(volatile), tuple(differences)) if ok else None

    def volatile(self, node: Node, prefix: str, seen: dict[str, int]) -> VolatileField | None:
        entry = self.mapping(node, prefix, VOLATILE_FIELDS, frozenset(VOLATILE_FIELDS))
        if entry is None or len(entry) != len(VOLATILE_FIELDS):
            return None
        name = self.string(entry["field"], f"{prefix}.field")
        reason = self.string(entry["reason"], f"{prefix}.reason")
        if name is not None and not _JSON_FIELD_RE.fullmatch(name):
            self.fail(
                entry["field"],
                f"{prefix}.field",
                f"{name!r} is not a JSON member name (or a dotted path of them)",
            )
            return None
        if name is not None and name in seen:
            self.fail(
                entry["field"],
                f"{prefix}.field",
                f"{name!r} is listed twice (first on line {seen[name]})",
            )
            return None
        if name is None or reason is None:
            return None
        seen[name] = line_of(entry["field"])
        return VolatileField(name, reason)

    def difference(self, node: Node, prefix: str) -> AllowedDifference | None:
        entry = self.mapping(node, prefix, DIFFERENCE_FIELDS, _DIFFERENCE_REQUIRED)
        if entry is None or not _DIFFERENCE_REQUIRED <= entry.keys():
            return None
        route = self.route_name(entry["route"], f"{prefix}.route")
        what = self.string(entry["what"], f"{prefix}.what")
        reason = self.string(entry["reason"], f"{prefix}.reason")
        path = self.pattern(entry["path"], f"{prefix}.path") if "path" in entry else None
        if route is None or what is None or reason is None or ("path" in entry and path is None):
            return None
        return AllowedDifference(route, what, reason, path)

    def route_name(self, node: Node, field: str) -> str | None:
        route = self.string(node, field)
        if route is None:
            return None
        method, _, template = route.partition(" ")
        if method not in METHODS or not template.startswith("/") or " " in template:
            self.fail(
                node, field, f"{route!r} must be 'METHOD /template', one of this plan's routes"
            )
            return None
        self.named_routes.append((route, field))
        return route

    def pattern(self, node: Node, field: str) -> str | None:
        value = self.string(node, field)
        if value is not None and not PATTERN_RE.fullmatch(value):
            self.fail(node, field, f"{value!r} {_PATTERN_HELP}")
            return None
        return value

    # -- shadow.compare ---------------------------------------------------------------------

    def compare(self, node: Node) -> CompareSettings | None:
        prefix = "shadow.compare"
        fields = self.mapping(node, prefix, COMPARE_FIELDS)
        if fields is None:
            return None
        default = CompareSettings()
        own = self.rules(fields, prefix)
        noise = self.noise(fields["noise"]) if "noise" in fields else default.noise
        samples, days = (
            self.whole(fields[key], f"{prefix}.{key}", minimum=low, maximum=high)
            if key in fields
            else fallback
            for key, fallback, low, high in (
                ("max_samples_per_field", default.max_samples_per_field, 0, MAX_SAMPLES_PER_FIELD),
                ("retention_days", default.retention_days, 1, MAX_RETENTION_DAYS),
            )
        )
        routes = self.compare_routes(fields["routes"]) if "routes" in fields else {}
        if own is None or noise is None or samples is None or days is None or routes is None:
            return None
        return CompareSettings(
            headers=default.headers if own.headers is None else own.headers,
            array_keys=own.array_keys,
            generated=own.generated,
            noise=noise,
            max_samples_per_field=samples,
            retention_days=days,
            routes=MappingProxyType(routes),
        )

    def rules(self, fields: dict[str, Node], prefix: str) -> RouteCompare | None:
        """headers, array_keys and generated, as the feature or one route declares them."""
        headers: frozenset[str] | None = None
        ok = True
        if "headers" in fields:
            names = self.unique(fields["headers"], f"{prefix}.headers", self.header_name)
            headers = None if names is None else frozenset(names)
            ok = names is not None
        keys: dict[str, str] | None = {}
        if "array_keys" in fields:
            keys = self.array_keys(fields["array_keys"], f"{prefix}.array_keys")
        generated: list[str] | None = []
        if "generated" in fields:
            generated = self.unique(fields["generated"], f"{prefix}.generated", self.pattern)
        if not ok or keys is None or generated is None:
            return None
        return RouteCompare(headers, MappingProxyType(keys), frozenset(generated))

    def header_name(self, node: Node, field: str) -> str | None:
        name = self.string(node, field)
        if name is not None and not TOKEN_RE.fullmatch(name):
            self.fail(node, field, f"{name!r} is not a header name (RFC 9110 token)")
            return None
        return None if name is None else name.lower()

    def array_keys(self, node: Node, field: str) -> dict[str, str] | None:
        pairs = self.pairs(node, field)
        if pairs is None:
            return None
        keys: dict[str, str] = {}
        ok = True
        for key_node, value_node in pairs:
            path = self.pattern(key_node, f"{field}.{key_node.value}")
            if path is not None and not path.startswith("body"):
                self.fail(key_node, f"{field}.{path}", "an array is in the body: start with body")
                path = None
            member = self.string(value_node, f"{field}.{key_node.value}")
            if member is not None and not MEMBER_RE.fullmatch(member):
                self.fail(
                    value_node, f"{field}.{key_node.value}", f"{member!r} is not a member name"
                )
                member = None
            if path is None or member is None:
                ok = False
            else:
                keys[path] = member
        return keys if ok else None

    def noise(self, node: Node) -> NoiseSettings | None:
        prefix = "shadow.compare.noise"
        fields = self.mapping(node, prefix, NOISE_FIELDS)
        if fields is None:
            return None
        default = NoiseSettings()
        values: list[float | None] = []
        for key, fallback in zip(
            NOISE_FIELDS,
            (default.sample_percent, default.relative_threshold, default.absolute_threshold),
            strict=True,
        ):
            if key not in fields:
                values.append(fallback)
                continue
            values.append(
                self.number(fields[key], f"{prefix}.{key}", minimum=0, maximum=100, note="percent")
            )
        percent, relative, absolute = values
        if percent is None or relative is None or absolute is None:
            return None
        return NoiseSettings(percent, relative, absolute)

    def compare_routes(self, node: Node) -> dict[str, RouteCompare] | None:
        field = "shadow.compare.routes"
        pairs = self.pairs(node, field)
        if pairs is None:
            return None
        routes: dict[str, RouteCompare] = {}
        ok = True
        for key_node, value_node in pairs:
            route = self.route_name(key_node, f"{field}[{key_node.value}]")
            prefix = f"{field}[{key_node.value}]"
            fields = self.mapping(value_node, prefix, ROUTE_COMPARE_FIELDS)
            own = None if fields is None else self.rules(fields, prefix)
            if route is None or own is None:
                ok = False
            else:
                routes[route] = own
        return routes if ok else None
