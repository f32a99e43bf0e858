"""Reading a plan's optional sections: upstream health checks, cohort keys, gates, shadow
settings and sync (the legacy contract and shadow comparison in `domain.plan_compare`).

`SectionReader` extends the located node reader with one method per section; the plan grammar
in `domain.plans` builds on it and adds the fields every plan has (feature, upstream,
tables, routes) and the checks that relate sections to routes. Each method returns the parsed
dataclass, or None after reporting every problem it found, so one broken threshold never hides
another. Ranges are bounded on both sides: a plan is reviewed by people, and `max_in_flight:
1e9` or a 10-hour shadow timeout is a typo, not a choice.

Two rules are decided here because they need only the section itself: `legacy` takes no gate
(moving back is a rollback, which gates never block), and `canary_writes` needs the cohort to
be the data owner's key (one writer per record).

Pure: PyYAML nodes and the standard library.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from yaml.nodes import Node

from domain.phases import Phase
from domain.plan_compare import TOKEN_RE, CompareReader
from domain.plan_model import (
    GATED_PHASES,
    CohortKey,
    CohortKind,
    CompareSettings,
    Gate,
    HealthCheck,
    NonOwnerWrites,
    ShadowSettings,
    SyncSettings,
    no_gates,
)

_QUERY_NAME_RE: Final = re.compile(r"[A-Za-z0-9_.~\-]+")
_PARAM_NAME_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEALTH_PATH_RE: Final = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,=:@/]*")

HEALTH_FIELDS: Final = (
    "path",
    "interval_seconds",
    "timeout_seconds",
    "unhealthy_after",
    "healthy_after",
)
COHORT_FIELDS: Final = ("key", "name")
GATE_FIELDS: Final = (
    "min_samples",
    "max_error_rate",
    "max_p99_ratio",
    "min_compared",
    "max_diff_rate",
    "max_sync_lag_seconds",
    "max_drift_rows",
)
SHADOW_FIELDS: Final = (
    "sample_percent",
    "timeout_seconds",
    "max_in_flight",
    "include_writes",
    "compare",
)
SYNC_FIELDS: Final = ("non_owner_writes",)

MAX_SAMPLES: Final = 1_000_000_000
MAX_P99_RATIO: Final = 100.0
MAX_SYNC_LAG_SECONDS: Final = 86_400.0
MAX_SHADOW_TIMEOUT_SECONDS: Final = 60.0
MAX_SHADOW_IN_FLIGHT: Final = 10_000
MAX_HEALTH_INTERVAL_SECONDS: Final = 300.0
MAX_HEALTH_COUNT: Final = 100


class SectionReader(CompareReader):
    """The optional sections of a plan, each read into its dataclass (the contract and
    shadow.compare by `domain.plan_compare`)."""

    def health(self, node: Node) -> HealthCheck | None:
        prefix = "upstream.health"
        fields = self.mapping(node, prefix, HEALTH_FIELDS)
        if fields is None:
            return None
        default = HealthCheck()
        path: str | None = default.path
        if "path" in fields:
            path = self.string(fields["path"], f"{prefix}.path")
            if path is not None and not _HEALTH_PATH_RE.fullmatch(path):
                self.fail(
                    fields["path"],
                    f"{prefix}.path",
                    f"{path!r} must be a plain path starting with '/' (no query, no '%')",
                )
                path = None
        interval = self.optional_number(
            fields,
            prefix,
            "interval_seconds",
            default.interval_seconds,
            MAX_HEALTH_INTERVAL_SECONDS,
        )
        timeout = self.optional_number(
            fields, prefix, "timeout_seconds", default.timeout_seconds, MAX_HEALTH_INTERVAL_SECONDS
        )
        unhealthy = self.optional_count(fields, prefix, "unhealthy_after", default.unhealthy_after)
        healthy = self.optional_count(fields, prefix, "healthy_after", default.healthy_after)
        if interval is not None and timeout is not None and timeout > interval:
            self.fail(
                fields.get("timeout_seconds", node),
                f"{prefix}.timeout_seconds",
                f"{timeout:g} s is longer than interval_seconds ({interval:g} s): a probe must "
                "end before the next one starts",
            )
            return None
        if path is None or interval is None or timeout is None:
            return None
        if unhealthy is None or healthy is None:
            return None
        return HealthCheck(path, interval, timeout, unhealthy, healthy)

    def optional_number(
        self, fields: dict[str, Node], prefix: str, key: str, default: float, maximum: float
    ) -> float | None:
        if key not in fields:
            return default
        return self.number(
            fields[key],
            f"{prefix}.{key}",
            minimum=0,
            above_minimum=True,
            maximum=maximum,
            unit="seconds",
        )

    def optional_count(
        self, fields: dict[str, Node], prefix: str, key: str, default: int
    ) -> int | None:
        if key not in fields:
            return default
        return self.whole(fields[key], f"{prefix}.{key}", minimum=1, maximum=MAX_HEALTH_COUNT)

    # -- cohorts ----------------------------------------------------------------------------

    def cohort_key(self, node: Node, prefix: str) -> CohortKey | None:
        fields = self.mapping(node, prefix, COHORT_FIELDS, frozenset({"key"}))
        if fields is None or "key" not in fields:
            return None
        choice = self.choice(fields["key"], f"{prefix}.key", tuple(k.value for k in CohortKind))
        if choice is None:
            return None
        kind = CohortKind(choice)
        if kind is CohortKind.SESSION:
            if "name" in fields:
                self.fail(
                    fields["name"],
                    f"{prefix}.name",
                    "a session key takes no name (it is the legacy session itself)",
                )
                return None
            return CohortKey()
        if "name" not in fields:
            self.fail(node, f"{prefix}.name", f"is required for a {kind.value} key")
            return None
        name = self.string(fields["name"], f"{prefix}.name")
        if name is None:
            return None
        pattern, what = {
            CohortKind.HEADER: (TOKEN_RE, "a header name (RFC 9110 token)"),
            CohortKind.COOKIE: (TOKEN_RE, "a cookie name (RFC 9110 token)"),
            CohortKind.PATH: (_PARAM_NAME_RE, "a template parameter name"),
            CohortKind.QUERY: (_QUERY_NAME_RE, "a query parameter name"),
        }[kind]
        if not pattern.fullmatch(name):
            self.fail(fields["name"], f"{prefix}.name", f"{name!r} is not {what}")
            return None
        if kind is CohortKind.HEADER:
            name = name.lower()
            if name.startswith("x-ficus-"):
                self.fail(
                    fields["name"],
                    f"{prefix}.name",
                    f"{name!r} is stripped by the proxy from every request, so it never arrives",
                )
                return None
        return CohortKey(kind, name)

    def check_canary_writes(
        self, node: Node, cohort: CohortKey, data_owner: CohortKey | None
    ) -> None:
        if data_owner is None:
            self.fail(
                node,
                "canary_writes",
                "needs data_owner, the key that names the record a write changes: a canary "
                "split by anything else lets both systems write one record (one writer per "
                "record)",
            )
        elif cohort != data_owner:
            self.fail(
                node,
                "canary_writes",
                f"needs the cohort key to be the data owner's key (cohort is "
                f"{cohort.describe()}, data_owner is {data_owner.describe()}): otherwise two "
                "cohorts can write the same record through two systems, and there must be one "
                "writer per record",
            )

    # -- gates, shadow, contract -------------------------------------------------------------

    def gates(self, node: Node) -> Mapping[Phase, Gate] | None:
        allowed = (Phase.LEGACY.value, *(p.value for p in GATED_PHASES))
        fields = self.mapping(node, "gates", allowed)
        if fields is None:
            return None
        gates = dict(no_gates())
        ok = True
        for key, value in fields.items():
            if key == Phase.LEGACY.value:
                self.fail(
                    self.lines["gates.legacy"],
                    "gates.legacy",
                    "legacy takes no gate: moving back to legacy is a rollback, which gates "
                    f"never block (gate the phases {', '.join(p.value for p in GATED_PHASES)})",
                )
                ok = False
                continue
            gate = self.gate(value, f"gates.{key}")
            if gate is None:
                ok = False
            else:
                gates[Phase(key)] = gate
        return MappingProxyType(gates) if ok else None

    def gate(self, node: Node, prefix: str) -> Gate | None:
        fields = self.mapping(node, prefix, GATE_FIELDS)
        if fields is None:
            return None
        values: dict[str, float | None] = {}
        limits: dict[str, tuple[float, float, bool, str]] = {
            "max_error_rate": (0, 1, False, "a fraction"),
            "max_p99_ratio": (0, MAX_P99_RATIO, True, ""),
            "max_diff_rate": (0, 1, False, "a fraction"),
            "max_sync_lag_seconds": (0, MAX_SYNC_LAG_SECONDS, False, ""),
        }
        ok = True
        for key, node_value in fields.items():
            name = f"{prefix}.{key}"
            if key in ("min_samples", "min_compared", "max_drift_rows"):
                whole = self.whole(node_value, name, minimum=0, maximum=MAX_SAMPLES)
                values[key] = None if whole is None else float(whole)
            else:
                low, high, above, note = limits[key]
                unit = "seconds" if key.endswith("_seconds") else ""
                values[key] = self.number(
                    node_value,
                    name,
                    minimum=low,
                    maximum=high,
                    above_minimum=above,
                    unit=unit,
                    note=note,
                )
            ok = ok and values[key] is not None
        if not ok:
            return None
        if values.get("max_diff_rate") is not None and not values.get("min_compared"):
            # A rate over a handful of exchanges says nothing: one differing exchange is 100 %,
            # one matching one 0 %.
            self.fail(
                fields["max_diff_rate"],
                f"{prefix}.max_diff_rate",
                "needs a positive min_compared in the same gate (the exchanges compared "
                "before a diff rate means anything), e.g. min_compared: 500",
            )
            return None
        drift = values.get("max_drift_rows")
        return Gate(
            min_samples=int(values.get("min_samples") or 0),
            min_compared=int(values.get("min_compared") or 0),
            max_error_rate=values.get("max_error_rate"),
            max_p99_ratio=values.get("max_p99_ratio"),
            max_diff_rate=values.get("max_diff_rate"),
            max_sync_lag_seconds=values.get("max_sync_lag_seconds"),
            max_drift_rows=None if drift is None else int(drift),
        )

    def shadow(self, node: Node) -> ShadowSettings | None:
        fields = self.mapping(node, "shadow", SHADOW_FIELDS)
        if fields is None:
            return None
        default = ShadowSettings()
        percent: float | None = default.sample_percent
        if "sample_percent" in fields:
            percent = self.number(
                fields["sample_percent"], "shadow.sample_percent", minimum=0, maximum=100
            )
        timeout = self.optional_number(
            fields, "shadow", "timeout_seconds", default.timeout_seconds, MAX_SHADOW_TIMEOUT_SECONDS
        )
        in_flight: int | None = default.max_in_flight
        if "max_in_flight" in fields:
            in_flight = self.whole(
                fields["max_in_flight"],
                "shadow.max_in_flight",
                minimum=1,
                maximum=MAX_SHADOW_IN_FLIGHT,
            )
        include_writes: bool | None = default.include_writes
        if "include_writes" in fields:
            include_writes = self.boolean(fields["include_writes"], "shadow.include_writes")
        compare = self.compare(fields["compare"]) if "compare" in fields else CompareSettings()
        if percent is None or timeout is None or in_flight is None or include_writes is None:
            return None
        if compare is None:
            return None
        return ShadowSettings(percent, timeout, in_flight, include_writes, compare)

    def sync(self, node: Node) -> SyncSettings | None:
        fields = self.mapping(node, "sync", SYNC_FIELDS)
        if fields is None:
            return None
        rule: NonOwnerWrites | None = SyncSettings().non_owner_writes
        if "non_owner_writes" in fields:
            choice = self.choice(
                fields["non_owner_writes"],
                "sync.non_owner_writes",
                tuple(r.value for r in NonOwnerWrites),
            )
            rule = NonOwnerWrites(choice) if choice else None
        return SyncSettings(rule) if rule is not None else None
