"""What a plan says, as frozen dataclasses: the vocabulary shared by the parser, the proxy and
the control plane (contract C1).

Kept apart from the parser (`domain.plans`, which re-exports every name here) so that
readers of a plan see its shape in one place, without the error reporting around it. Every
optional field has its documented default here, so a plan that leaves a field out and one that
spells the default out parse to equal objects. Gates are a read-only mapping holding every
gated phase, so `plan.gates[phase]` never misses (an undeclared gate checks nothing).

Pure: the standard library and the routing core's `Phase`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from domain.comparison import DEFAULT_HEADERS, CompareRules
from domain.legacy_session import LegacySessionSettings
from domain.noise import Thresholds

# The routing core's own enum: the plan and the proxy can never disagree on the policy.
from domain.phases import Phase
from domain.plan_yaml import PlanError
from domain.routes import RpcMatch, TrailingSlash, is_read, route_name

METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# Gates guard the way *into* a phase. Legacy has none: going back is a rollback, never gated.
GATED_PHASES: Final = (Phase.SHADOW, Phase.CANARY, Phase.MIGRATED, Phase.RETIRED)
DEFAULT_PIN_SECONDS: Final = 5.0

# A longer read-your-writes pin would mean forward sync is broken, not slow: plan files are held
# to it, and the proxy's pins never keep one longer.
MAX_PIN_SECONDS: Final = 300.0


class CohortKind(StrEnum):
    """What a request's canary cohort is computed from."""

    SESSION = "session"  # the clinician's legacy session: one person never flips systems
    HEADER = "header"
    COOKIE = "cookie"
    PATH = "path"  # a path parameter of the matched template, e.g. the record id
    QUERY = "query"


@dataclass(frozen=True, slots=True)
class CohortKey:
    """A request attribute that picks a cohort (`cohort`) or names a record (`data_owner`).
    `name` is None for `session`; header names are kept in lower case (they are
    case-insensitive, RFC 9110 5.1)."""

    kind: CohortKind = CohortKind.SESSION
    name: str | None = None

    def describe(self) -> str:
        return self.kind.value if self.name is None else f"{self.kind.value} {self.name!r}"


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """How the proxy probes each instance of an upstream."""

    path: str = "/__ficus/health"
    interval_seconds: float = 2.0
    timeout_seconds: float = 1.0
    unhealthy_after: int = 2  # consecutive failures that take an instance out
    healthy_after: int = 1  # consecutive successes that bring it back


@dataclass(frozen=True, slots=True)
class Gate:
    """Thresholds a route must meet to *enter* a phase. None means "not checked"."""

    min_samples: int = 0
    min_compared: int = 0  # shadow exchanges compared (legacy vs service), 0: not checked
    max_error_rate: float | None = None  # errors / requests on the service side, 0..1
    max_p99_ratio: float | None = None  # service p99 / legacy p99
    # shadow exchanges with a real difference (after noise and accepted ones) / compared, 0..1
    max_diff_rate: float | None = None
    max_sync_lag_seconds: float | None = None
    max_drift_rows: int | None = None

    def thresholds(self) -> dict[str, float | int]:
        """The thresholds this gate checks, by field name (min_samples only when > 0)."""
        declared: dict[str, float | int | None] = {
            "min_samples": self.min_samples or None,
            "min_compared": self.min_compared or None,
            "max_error_rate": self.max_error_rate,
            "max_p99_ratio": self.max_p99_ratio,
            "max_diff_rate": self.max_diff_rate,
            "max_sync_lag_seconds": self.max_sync_lag_seconds,
            "max_drift_rows": self.max_drift_rows,
        }
        return {name: value for name, value in declared.items() if value is not None}


def _no_keys() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class NoiseSettings:
    """Diffy's noise measure (`domain.noise`): the share of idempotent reads also asked of
    legacy a second time, and the thresholds (percent) a field must clear to be real."""

    sample_percent: float = 10.0
    relative_threshold: float = 20.0
    absolute_threshold: float = 0.03

    def thresholds(self) -> Thresholds:
        return Thresholds(self.relative_threshold, self.absolute_threshold)


@dataclass(frozen=True, slots=True)
class RouteCompare:
    """One route's own comparison rules, over the feature's: `headers` replaces the feature's
    list when given, `array_keys` and `generated` add to them."""

    headers: frozenset[str] | None = None
    array_keys: Mapping[str, str] = field(default_factory=_no_keys, hash=False)
    generated: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CompareSettings:
    """How shadowed answers are compared (`shadow.compare`); paths are `domain.compare_paths`
    patterns. Volatile fields and accepted differences are the contract's (`contract`)."""

    headers: frozenset[str] = DEFAULT_HEADERS
    array_keys: Mapping[str, str] = field(
        default_factory=_no_keys, hash=False
    )  # array pattern -> key
    generated: frozenset[str] = frozenset()  # new ids, timestamps: compared by kind in writes
    noise: NoiseSettings = field(default_factory=NoiseSettings)
    max_samples_per_field: int = 5  # de-identified evidence samples kept per differing field
    retention_days: int = 30  # how long evidence samples are kept
    # "METHOD /template" -> that route's own rules
    routes: Mapping[str, RouteCompare] = field(default_factory=dict, hash=False)


@dataclass(frozen=True, slots=True)
class ShadowSettings:
    sample_percent: float = 100.0  # share of the route's requests copied to the service
    timeout_seconds: float = 2.0  # a shadow copy slower than this counts as an error, not a diff
    max_in_flight: int = 64  # copies beyond this are dropped, never queued (bounded memory)
    include_writes: bool = False  # writes are only ever shadowed in dry-run (rolled back)
    compare: CompareSettings = field(default_factory=CompareSettings)


class NonOwnerWrites(StrEnum):
    """What sync does with a write made on the side that does not own the record (named after
    SymmetricDS's conflict resolutions). Concurrent writes of one record are always decided by
    version, newest first, whatever this says (docs/sync.md)."""

    # Another legacy module, a batch job or an interface engine writes a migrated record: the
    # write is applied if it is the newest write of the record, like any other.
    NEWER_WINS = "newer_wins"
    # The owner's value stands: the write is not applied, the owner's state is put back on
    # the side that wrote, and a conflict record says what was refused.
    OWNER_WINS = "owner_wins"


@dataclass(frozen=True, slots=True)
class SyncSettings:
    """How sync treats the feature's records (`sync:` in the plan)."""

    non_owner_writes: NonOwnerWrites = NonOwnerWrites.NEWER_WINS


@dataclass(frozen=True, slots=True)
class AutopilotSettings:
    """The analysis loop of `plan autopilot` (`autopilot:` in the plan, domain.plan_autopilot).

    Every `interval_seconds` the loop checks the gate of the next step against the evidence of
    the current one: it advances through the canary `steps` (weights) and on to `target` after
    `dwell_seconds` and `min_samples` per step; `failure_threshold` consecutive failures of a
    `rollback_on` check roll the feature back to `rollback_to` and lock it."""

    interval_seconds: float = 60.0
    steps: tuple[int, ...] = (5, 25, 50)
    dwell_seconds: float = 300.0
    min_samples: int = 100
    failure_threshold: int = 3
    target: Phase = Phase.MIGRATED
    rollback_to: Phase = Phase.SHADOW
    rollback_on: tuple[str, ...] = ("max_error_rate",)


@dataclass(frozen=True, slots=True)
class VolatileField:
    field: str  # a JSON member, or a dotted path of members, matched at any depth
    reason: str

    @property
    def pattern(self) -> str:
        """The `domain.compare_paths` pattern shadow comparison ignores."""
        return f"body.**.{self.field}"


@dataclass(frozen=True, slots=True)
class AllowedDifference:
    route: str  # "METHOD /template", one of the plan's routes
    what: str
    reason: str
    # The `domain.compare_paths` pattern shadow comparison counts as accepted on this route
    # (`status`, `body.items[*].code`); None for a difference described in words only.
    path: str | None = None

    @property
    def method(self) -> str:
        return self.route.partition(" ")[0]

    @property
    def template(self) -> str:
        return self.route.partition(" ")[2]


@dataclass(frozen=True, slots=True)
class ContractSettings:
    """Legacy-contract parity: fields ignored when answers are compared, and the differences
    the service is allowed to have, each with the reason a reviewer accepted."""

    volatile_fields: tuple[VolatileField, ...] = ()
    differences: tuple[AllowedDifference, ...] = ()

    @property
    def volatile_names(self) -> frozenset[str]:
        return frozenset(v.field for v in self.volatile_fields)


@dataclass(frozen=True, slots=True)
class PlanRoute:
    method: str
    path: str
    # The *initial* phase: what the proxy uses with no control plane, and what the control
    # plane registers the first time it sees the route.
    phase: Phase
    line: int
    # Only the calls of this RPC method at `path` (`domain.plan_rpc`).
    rpc: RpcMatch | None = None

    @property
    def template(self) -> str:
        """The path, with the RPC method if any: the route's key in stats and route states."""
        return route_name(self.path, self.rpc)

    @property
    def reads(self) -> bool:
        """Whether the route's requests are reads (`domain.routes.is_read`)."""
        return is_read(self.method, self.rpc)

    def describe(self) -> str:
        return f"{self.method} {self.template}"


@dataclass(frozen=True, slots=True)
class Upstream:
    name: str
    instances: tuple[str, ...]
    # "plan" or the environment variable that replaced the plan's list, for `plan check`.
    instances_from: str = "plan"
    health: HealthCheck = field(default_factory=HealthCheck)


def no_gates() -> Mapping[Phase, Gate]:
    """Every gated phase, each with a gate that checks nothing (read-only)."""
    return MappingProxyType({phase: Gate() for phase in GATED_PHASES})


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
    cohort: CohortKey = field(default_factory=CohortKey)
    data_owner: CohortKey | None = None
    # Only valid when cohort == data_owner: then a record's writes all go to one system.
    canary_writes: bool = False
    trailing_slash: TrailingSlash = TrailingSlash.STRICT
    allow_path_params: bool = False
    # One Gate for every phase in GATED_PHASES (an undeclared one checks nothing).
    gates: Mapping[Phase, Gate] = field(default_factory=no_gates, hash=False)
    shadow: ShadowSettings = field(default_factory=ShadowSettings)
    contract: ContractSettings = field(default_factory=ContractSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    autopilot: AutopilotSettings | None = None  # None: no `autopilot:`, the loop refuses
    # The legacy app's sessions (domain.plan_legacy_session); None: this plan says nothing.
    legacy_session: LegacySessionSettings | None = None
    # Modern faces the upstream serves (`/v2/charts`, `/fhir/Observation`): prefixes that always
    # go to it, whatever the routes' phases (domain.faces).
    faces: tuple[str, ...] = ()
    # The line of each field read ("upstream.instances", "legacy_tables[0]", ...), for errors
    # that are found only when plans are compared.
    lines: Mapping[str, int] = field(default_factory=dict, compare=False)

    def route_reads(self, method: str, template: str) -> bool:
        """Whether the route (method, `PlanRoute.template`) reads; an unknown one by its method."""
        found = next((r for r in self.routes if (r.method, r.template) == (method, template)), None)
        return found.reads if found is not None else is_read(method, None)

    def compare_rules(self, route: str) -> CompareRules:
        """How shadow compares the answers of one route ("METHOD /template", as declared)."""
        compare = self.shadow.compare
        own = compare.routes.get(route, RouteCompare())
        accepted = (d.path for d in self.contract.differences if d.route == route and d.path)
        return CompareRules(
            headers=compare.headers if own.headers is None else own.headers,
            array_keys=MappingProxyType({**compare.array_keys, **own.array_keys}),
            ignored=frozenset(v.pattern for v in self.contract.volatile_fields),
            generated=compare.generated | own.generated,
            accepted=frozenset(accepted),
        )

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
