"""Telling real differences from noise, the way Twitter's Diffy does, over mergeable tallies.

Two copies of legacy disagree with each other too: a timestamp, a generated id, the order of a
set. Diffy (github.com/twitter/diffy, `DifferencesFilterFactory` and `JoinedField`) sends each
request to the primary, to a second copy of it and to the candidate, and counts, per endpoint
and field, the raw differences (primary vs candidate) and the noise (primary vs secondary). A
field is a real difference only when all three hold:

- it differs more often against the candidate than against legacy itself (`raw > noise`);
- relatively: `|raw - noise| / (raw + noise)` is above the relative threshold (20 %);
- absolutely: `|raw - noise| / total requests` is above the absolute threshold (0.03 %).

Ficus asks legacy a second time for a sampled share of idempotent reads only (the plan's
`shadow.compare.noise.sample_percent`), so raw and noise are not counted over the same total.
The rule is applied to rates instead of counts: `r = raw / compared`,
`n = noise / noise_compared`, real when `r > n`, `|r - n| / (r + n) > relative` and
`|r - n| > absolute`. With every request sampled this is exactly Diffy's rule. Without any
noise sample (a write route is never asked twice: a second real write is not idempotent), `n`
is 0 and every differing field clears the relative test, so only the absolute threshold
excuses a field: one that differs in at most 0.03 % of the exchanges. A plan that wants every
difference counted sets `absolute_threshold: 0`. A field matching one of the plan's accepted
differences is `accepted` whatever its counts, and never real.

An exchange is a real difference when at least one of its fields is real; `real_diff_rate` is
those exchanges over the exchanges compared, the number `max_diff_rate` gates. Each tally
keeps, per differing exchange, the set of fields it differed in (its signature) so that the
rate is counted by exchange, not by field.

Bounded: counts are by field (array steps generalised, `domain.compare_paths.field_of`), at
most `MAX_FIELDS` fields (the rest under `OTHER`) and `MAX_SIGNATURES` signatures (the rest
counted in `overflow`). `OTHER`, `domain.comparison.MORE` and the overflow are always counted
as real: what was not kept cannot be excused; so is `NOT_COMPARED`, a body never read (its raw
count is the route's "not compared" count). A body compared whole (`body`: not JSON, or too
large to flatten) is never excused by noise, only by an `accepted` entry: one volatile token in
a page would otherwise excuse every real change to it. Tallies add up (`merge`), so per-worker
windows can be summed, and round-trip through JSON-safe dicts.

Pure: the standard library only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from domain.compare_paths import field_of, matches_any
from domain.comparison import MORE

MAX_FIELDS: Final = 1_000
MAX_SIGNATURES: Final = 256
OTHER: Final = "<other fields>"
# Bodies that were never compared (over the byte budget, inflated over it, streamed): what was
# not read cannot be shown equal, so neither noise nor an accepted difference excuses it.
NOT_COMPARED: Final = "<body not compared>"
_NEVER_EXCUSED: Final = frozenset({OTHER, MORE, NOT_COMPARED})
# A body compared whole (not JSON, or JSON too large to flatten) is one field: legacy's own
# second answer differing in it (a CSRF token in an HTML page) would excuse every real change
# of that page, so noise never counts there; only an explicit `accepted` entry excuses it.
WHOLE_BODY: Final = "body"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Diffy's thresholds, in percent (its defaults)."""

    relative: float = 20.0
    absolute: float = 0.03

    def __post_init__(self) -> None:
        for name, value in (("relative", self.relative), ("absolute", self.absolute)):
            if not 0 <= value <= 100:
                raise ValueError(f"{name} threshold {value!r} is not a percentage (0 to 100)")


@dataclass(slots=True)
class RouteTally:
    """One route's comparisons over a window: legacy vs service, and legacy vs legacy."""

    compared: int = 0
    raw: Counter[str] = field(default_factory=Counter)  # field -> exchanges differing in it
    noise_compared: int = 0
    noise: Counter[str] = field(default_factory=Counter)  # field -> legacy-vs-legacy
    signatures: Counter[frozenset[str]] = field(default_factory=Counter)
    overflow: int = 0  # differing exchanges whose signature was not kept (counted as real)

    def add(self, differences: Iterable[str], noise: Iterable[str] | None = None) -> None:
        """One compared exchange: the paths it differed in against the service, and, when
        legacy was asked twice, the paths legacy's two answers differed in."""
        self.compared += 1
        signature = self._count(self.raw, differences)
        if signature:
            self._keep(signature, 1)
        if noise is not None:
            self.noise_compared += 1
            self._count(self.noise, noise)

    def merge(self, other: RouteTally) -> None:
        self.compared += other.compared
        self.noise_compared += other.noise_compared
        for mine, theirs in ((self.raw, other.raw), (self.noise, other.noise)):
            for name, count in theirs.items():
                mine[self._slot(mine, name)] += count
        self.overflow += other.overflow
        for signature, count in other.signatures.items():
            self._keep(signature, count)

    def _count(self, counter: Counter[str], paths: Iterable[str]) -> frozenset[str]:
        fields = frozenset(self._slot(counter, field_of(path)) for path in paths)
        counter.update(fields)  # once per exchange, however many elements differed
        return fields

    @staticmethod
    def _slot(counter: Counter[str], name: str) -> str:
        return name if name in counter or len(counter) < MAX_FIELDS else OTHER

    def _keep(self, signature: frozenset[str], count: int) -> None:
        if signature in self.signatures or len(self.signatures) < MAX_SIGNATURES:
            self.signatures[signature] += count
        else:
            self.overflow += count

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe, and read back by `from_dict`."""
        return {
            "compared": self.compared,
            "raw": dict(sorted(self.raw.items())),
            "noise_compared": self.noise_compared,
            "noise": dict(sorted(self.noise.items())),
            "signatures": sorted([sorted(s), n] for s, n in self.signatures.items()),
            "overflow": self.overflow,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RouteTally:
        """The tally `as_dict` wrote; anything else is a ValueError naming the part."""
        try:
            tally = cls(
                compared=_count_of(data["compared"], "compared"),
                raw=Counter(_counts(data["raw"], "raw")),
                noise_compared=_count_of(data["noise_compared"], "noise_compared"),
                noise=Counter(_counts(data["noise"], "noise")),
                overflow=_count_of(data["overflow"], "overflow"),
            )
            for fields, count in data["signatures"]:
                if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
                    raise ValueError("signatures: expected lists of field names")
                tally._keep(frozenset(fields), _count_of(count, "signatures"))
        except (KeyError, TypeError) as e:
            raise ValueError(f"not a route tally: {e!r}") from e
        return tally


def _count_of(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name}: expected a count, got {value!r}")
    return value


def _counts(value: object, name: str) -> dict[str, int]:
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        raise ValueError(f"{name}: expected counts by field")
    return {k: _count_of(v, name) for k, v in value.items()}


class Verdict(StrEnum):
    REAL = "real"
    ACCEPTED = "accepted"
    NOISE = "noise"


@dataclass(frozen=True, slots=True)
class FieldAssessment:
    field: str
    raw: int  # exchanges differing in it, legacy vs service
    noise: int  # legacy's two answers differing in it
    raw_rate: float  # raw / compared
    noise_rate: float  # noise / noise_compared (0 with no noise sample)
    relative: float  # percent, |r - n| / (r + n)
    absolute: float  # percent, |r - n|
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class Assessment:
    compared: int
    noise_compared: int
    differing: int  # exchanges with at least one difference, before noise is taken out
    real: int  # exchanges with at least one real field
    fields: tuple[FieldAssessment, ...]  # worst first

    @property
    def raw_diff_rate(self) -> float | None:
        return self.differing / self.compared if self.compared else None

    @property
    def real_diff_rate(self) -> float | None:
        return self.real / self.compared if self.compared else None

    def by_verdict(self, verdict: Verdict) -> tuple[FieldAssessment, ...]:
        return tuple(f for f in self.fields if f.verdict is verdict)

    @property
    def real_fields(self) -> tuple[FieldAssessment, ...]:
        return self.by_verdict(Verdict.REAL)

    @property
    def noise_fields(self) -> tuple[FieldAssessment, ...]:
        return self.by_verdict(Verdict.NOISE)

    @property
    def accepted_fields(self) -> tuple[FieldAssessment, ...]:
        return self.by_verdict(Verdict.ACCEPTED)

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe, for the evidence a transition records and the API shows."""
        return {
            "compared": self.compared,
            "noise_compared": self.noise_compared,
            "differing": self.differing,
            "real": self.real,
            "raw_diff_rate": self.raw_diff_rate,
            "real_diff_rate": self.real_diff_rate,
            "fields": [
                {
                    "field": f.field,
                    "verdict": f.verdict.value,
                    "raw": f.raw,
                    "noise": f.noise,
                    "raw_rate": f.raw_rate,
                    "noise_rate": f.noise_rate,
                    "relative_percent": f.relative,
                    "absolute_percent": f.absolute,
                }
                for f in self.fields
            ],
        }


@dataclass(frozen=True, slots=True)
class RouteGateValues:
    """One route's shadow evidence for the gates: exchanges compared, the real diff rate."""

    route: str  # "METHOD /template"
    compared: int
    diff_rate: float | None  # None: nothing compared


@dataclass(frozen=True, slots=True)
class GateEvidence:
    """The evidence the gates read (`min_compared`, `max_diff_rate`) over the routes being
    moved, each route judged on its own: one well-shadowed route never vouches for another.
    `compared` is the weakest route's count and `diff_rate` the worst route's rate; a route with
    nothing compared makes the rate unavailable (None), so a gate on it fails."""

    routes: tuple[RouteGateValues, ...]

    @property
    def compared(self) -> int:
        return min((r.compared for r in self.routes), default=0)

    @property
    def diff_rate(self) -> float | None:
        rates = [r.diff_rate for r in self.routes]
        if not rates or any(rate is None for rate in rates):
            return None
        return max(rate for rate in rates if rate is not None)

    @property
    def uncompared(self) -> tuple[str, ...]:
        return tuple(r.route for r in self.routes if not r.compared)

    def weakest(self) -> str | None:
        """The route with the fewest exchanges compared (the one `min_compared` is about)."""
        return min(self.routes, key=lambda r: r.compared).route if self.routes else None

    def worst(self) -> str | None:
        """The route with the highest real diff rate (the one `max_diff_rate` is about)."""
        rated = [r for r in self.routes if r.diff_rate is not None]
        return max(rated, key=lambda r: r.diff_rate or 0.0).route if rated else None

    def as_dict(self) -> dict[str, dict[str, int | float | None]]:
        return {r.route: {"compared": r.compared, "diff_rate": r.diff_rate} for r in self.routes}


def gate_evidence(assessments: Iterable[tuple[str, Assessment]]) -> GateEvidence:
    """The gates' evidence from each route's assessment ((route, assessment) each)."""
    return GateEvidence(
        tuple(RouteGateValues(route, a.compared, a.real_diff_rate) for route, a in assessments)
    )


_ORDER: Final = {Verdict.REAL: 0, Verdict.ACCEPTED: 1, Verdict.NOISE: 2}


def assess(
    tally: RouteTally, thresholds: Thresholds = Thresholds(), accepted: frozenset[str] = frozenset()
) -> Assessment:
    """Each field's verdict by Diffy's rule (module docstring), and the exchange rates."""
    fields = [_field(name, count, tally, thresholds, accepted) for name, count in tally.raw.items()]
    fields.sort(key=lambda f: (_ORDER[f.verdict], -f.absolute, -f.raw, f.field))
    real = {f.field for f in fields if f.verdict is Verdict.REAL}
    # A signature's field missing from the counts went to OTHER when windows were merged.
    real_exchanges = tally.overflow + sum(
        count
        for signature, count in tally.signatures.items()
        if any(f in real or f not in tally.raw for f in signature)
    )
    differing = tally.overflow + sum(tally.signatures.values())
    return Assessment(
        tally.compared, tally.noise_compared, differing, real_exchanges, tuple(fields)
    )


def _field(
    name: str, raw: int, tally: RouteTally, thresholds: Thresholds, accepted: frozenset[str]
) -> FieldAssessment:
    noise = 0 if name == WHOLE_BODY else tally.noise.get(name, 0)
    r = raw / tally.compared if tally.compared else 0.0
    n = noise / tally.noise_compared if tally.noise_compared else 0.0
    gap = abs(r - n)
    # Rounded so that a rate exactly at a threshold is at it, whatever the float error.
    relative = round(gap / (r + n) * 100, 9) if r + n else 0.0
    absolute = round(gap * 100, 9)
    if name in _NEVER_EXCUSED:
        verdict = Verdict.REAL
    elif matches_any(accepted, name):
        verdict = Verdict.ACCEPTED
    elif r > n and relative > thresholds.relative and absolute > thresholds.absolute:
        verdict = Verdict.REAL
    else:
        verdict = Verdict.NOISE
    return FieldAssessment(name, raw, noise, r, n, relative, absolute, verdict)


class ExchangeResult(StrEnum):
    """One exchange as the metrics count it (`ficus_shadow_comparisons_total{result}`)."""

    MATCH = "match"
    NOISE = "noise"  # every difference is explained: legacy differed there too, or accepted
    DIFFERENCE = "difference"
    ERROR = "error"  # nothing to compare: the copy failed or an answer was missing


def exchange_result(
    real: Iterable[str], noise: Iterable[str] | None, accepted: frozenset[str] = frozenset()
) -> ExchangeResult:
    """The one exchange's result, from its own evidence only: the fields its service answer
    differs in (`real`), those its second legacy answer differs in (`noise`, None if legacy was
    not asked twice) and the plan's accepted differences. The gates judge fields over many
    exchanges (`assess`); this is the per-exchange view a dashboard plots."""
    differing = {field_of(path) for path in real}
    if not differing:
        return ExchangeResult.MATCH
    explained = {field_of(path) for path in noise or ()} - {WHOLE_BODY}
    if all(
        name not in _NEVER_EXCUSED and (name in explained or matches_any(accepted, name))
        for name in differing
    ):
        return ExchangeResult.NOISE
    return ExchangeResult.DIFFERENCE
