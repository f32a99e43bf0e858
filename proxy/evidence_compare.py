"""One paired exchange compared and counted, in the recorder's thread (never the event loop).

The answers are turned into `domain.comparison.Answer`s (header names decoded, a gzip or
deflate body inflated up to the same byte budget), compared by the plan's rules, and counted
in this window's `domain.noise.RouteTally`: the fields legacy and the service differ in, and,
when legacy was asked twice, the fields legacy differs from itself in (by de-identified name
given a key; without one, a member name that may be an identifier is folded into `<member>`).
A body over the budget on either side is counted under `domain.noise.NOT_COMPARED`, a field
never excused (neither by noise nor by an accepted difference): it was never read into memory,
so it cannot be shown to be equal, and a route whose bodies are all too large has a real
difference rate of 1, failing its gate closed. Each differing field's two values go through the
de-identifier before they become a sample; without one, no sample is kept at all.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from domain.compare_paths import field_of
from domain.comparison import Answer, CompareRules, Differences, Marker, differing_fields
from domain.deidentify import keyless_path
from domain.noise import NOT_COMPARED, ExchangeResult, exchange_result
from domain.plan_model import CompareSettings
from domain.plans import Plan
from proxy.evidence_store import EvidenceStore, Sample
from proxy.shadow_compare import Exchange, Reply

TOO_LARGE: Final = Marker("<body too large>")
WITHIN: Final = Marker("<body within budget>")
MAX_SAMPLE_CHARS: Final = 2_000
# Content codings inflated before comparing (zlib's window bits: gzip, or zlib/deflate).
_CODINGS: Final = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": 0}


@dataclass(frozen=True, slots=True)
class FeatureCompare:
    """A feature's `shadow.compare` settings and each route's rules, built once per plan load
    (`Plan.compare_rules`, the one place rules are made from a plan)."""

    settings: CompareSettings
    rules: Mapping[tuple[str, str], CompareRules]  # (method, template) -> rules

    def rules_for(self, method: str, template: str) -> CompareRules:
        return self.rules.get((method, template)) or _DEFAULT_RULES


_DEFAULT_RULES: Final = CompareRules()


def feature_compares(plans: Iterable[Plan]) -> dict[str, FeatureCompare]:
    return {
        plan.feature: FeatureCompare(
            plan.shadow.compare,
            {(r.method, r.path): plan.compare_rules(f"{r.method} {r.path}") for r in plan.routes},
        )
        for plan in plans
    }


class Deidentifying(Protocol):
    """What the recorder needs of `domain.deidentify.Deidentifier`."""

    def sample(self, path: str, value: object) -> object: ...
    def path(self, path: str) -> str: ...


def compare_exchange(
    exchange: Exchange,
    settings: FeatureCompare,
    store: EvidenceStore,
    deidentifier: Deidentifying | None,
    *,
    max_body_bytes: int,
) -> ExchangeResult:
    """Compare and count one exchange, and say how it came out (the metrics' result); `ERROR`
    when there was nothing to compare (a failed copy is an error outcome, counted by route stats,
    never a difference)."""
    legacy, service = exchange.legacy, exchange.service
    if legacy is None or service is None:
        return ExchangeResult.ERROR
    rules = settings.rules_for(exchange.method, exchange.template)
    first = _answer(legacy, max_body_bytes)
    real = differences(first, _answer(service, max_body_bytes), rules, write=exchange.write)
    noise: Differences | None = None
    if exchange.noise is not None:
        noise = differences(first, _answer(exchange.noise, max_body_bytes), rules, write=False)
    tally = store.tally(exchange.feature, exchange.method, exchange.template)
    if tally is not None:
        # A member name that is an identifier (`byEmail["jane@…"]`) is never stored either:
        # fields are counted under their de-identified names, or folded without a key.
        tally.add(
            _names(real, deidentifier), None if noise is None else _names(noise, deidentifier)
        )
    if deidentifier is not None:
        limit = settings.settings.max_samples_per_field
        for kind, found in (("real", real), ("noise", noise or {})):
            for path, (ours, theirs) in found.items():
                field = deidentifier.path(field_of(path))
                if store.wants_sample(exchange.feature, exchange.template, field):
                    store.add_sample(
                        Sample(
                            exchange.feature,
                            exchange.method,
                            exchange.template,
                            field,
                            kind,
                            _shown(deidentifier, path, ours),
                            _shown(deidentifier, path, theirs),
                            limit,
                        )
                    )
    return exchange_result(real, noise, rules.accepted)


def _names(found: Differences, deidentifier: Deidentifying | None) -> list[str]:
    """The fields as counted and stored: de-identified with a key; without one, every member
    that may be an identifier folded into `<member>` (`domain.deidentify.keyless_path`)."""
    if deidentifier is None:
        return [keyless_path(field_of(path)) for path in found]
    return [deidentifier.path(field_of(path)) for path in found]


# An answer as compared, and whether its body was over the budget (then compared as empty).
Compared = tuple[Answer, bool]


def differences(
    legacy: Compared, other: Compared, rules: CompareRules, *, write: bool
) -> Differences:
    """`differing_fields`, with a body over the budget on either side as one `NOT_COMPARED`
    difference: what was never read cannot be shown equal."""
    (a, a_large), (b, b_large) = legacy, other
    found = differing_fields(a, b, rules, write=write)
    if not (a_large or b_large):
        return found
    kept = {p: v for p, v in found.items() if not _in_body(p)}
    kept[NOT_COMPARED] = (TOO_LARGE if a_large else WITHIN, TOO_LARGE if b_large else WITHIN)
    return kept


def _in_body(path: str) -> bool:
    return path == "body" or path.startswith(("body.", "body["))


def _answer(reply: Reply, max_body_bytes: int) -> Compared:
    headers = tuple((n.decode("latin-1").lower(), v.decode("latin-1")) for n, v in reply.headers)
    if reply.too_large:
        return Answer(reply.status, headers, b""), True
    body = _decoded(headers, reply.body, max_body_bytes)
    if body is None:
        return Answer(reply.status, headers, b""), True
    return Answer(reply.status, headers, body), False


def _decoded(
    headers: tuple[tuple[str, str], ...], body: bytes, max_body_bytes: int
) -> bytes | None:
    """The body without its content coding; None when inflated it is over the budget."""
    coding = ",".join(v for n, v in headers if n == "content-encoding").strip().lower()
    wbits = _CODINGS.get(coding)
    if wbits is None:
        return body  # identity, or a coding compared as sent
    inflater = zlib.decompressobj(wbits or zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, max_body_bytes + 1)
    except zlib.error:
        return body  # not what it says it is: compared as sent
    if len(out) > max_body_bytes or inflater.unconsumed_tail:
        return None
    return out


def _shown(deidentifier: Deidentifying, path: str, value: object) -> str:
    """A sample's value as stored: de-identified JSON (markers are Ficus's, never data)."""
    kept = value if isinstance(value, Marker) else deidentifier.sample(path, value)
    text = json.dumps(kept, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_SAMPLE_CHARS else text[: MAX_SAMPLE_CHARS - 1] + "…"
