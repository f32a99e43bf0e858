"""How long one routing decision takes as the route table grows (target: <= 10 us at 10,000).

Routes look like a real inventory: many features, each with a collection, an item with an int
id, item sub-resources and a str-keyed lookup, over several methods. Every third feature is in a
30% canary by session cohort, so a share of the decisions also hash a cohort (the request's
cohort lookup is a callable, as the proxy's is). Requests mix hits at every depth with misses
that fall through to the legacy default. `measure_rpc` adds a trytond-like RPC endpoint (200 RPC
routes at `POST /{db}/`): plain requests must cost the same, and an RPC call's figure includes
parsing its JSON body (`domain.rpc`). Each figure is the median of many timed batches, so
one scheduler hiccup does not move it.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from dataclasses import dataclass

from domain.phases import Phase
from domain.routes import CohortLookup, RequestInfo, Route, RpcClass, RpcLookup, RpcMatch
from domain.routing import RouteTable, decide
from domain.rpc import rpc_call

SIZES = (100, 1_000, 10_000)
TARGET_US = 10.0
CANARY_WEIGHT = 30
_SHAPES = (
    ("GET", "/api/{feature}/items"),
    ("POST", "/api/{feature}/items"),
    ("GET", "/api/{feature}/items/{{id:int}}"),
    ("PUT", "/api/{feature}/items/{{id:int}}"),
    ("POST", "/api/{feature}/items/{{id:int}}/cancel"),
    ("GET", "/api/{feature}/items/{{id:int}}/notes/{{note:int}}"),
    ("GET", "/api/{feature}/by-code/{{code}}"),
    ("DELETE", "/api/{feature}/items/{{id:int}}"),
    ("GET", "/{feature}/reports/{{year:int}}/{{month:int}}"),
    ("GET", "/{feature}/pages/{{slug}}"),
)


@dataclass(frozen=True)
class RoutingResult:
    routes: int
    median_us: float
    p99_us: float


def build_routes(count: int) -> list[Route]:
    routes: list[Route] = []
    feature_index = 0
    while len(routes) < count:
        feature = f"feature{feature_index:05d}"
        for method, shape in _SHAPES:
            if len(routes) == count:
                break
            routes.append(
                Route(
                    feature=feature,
                    method=method,
                    template=shape.format(feature=feature),
                    upstream=feature,
                    phase=Phase.CANARY if feature_index % 3 == 0 else Phase.MIGRATED,
                    weight=CANARY_WEIGHT if feature_index % 3 == 0 else 0,
                )
            )
        feature_index += 1
    return routes


def _session_lookup(session: str) -> CohortLookup:
    def lookup(kind: str, name: str) -> str | None:
        return session if kind == "session" else None

    return lookup


def sample_requests(count: int, features: int, rng: random.Random) -> list[RequestInfo]:
    requests: list[RequestInfo] = []
    for _ in range(count):
        feature = f"feature{rng.randrange(features):05d}"
        n = rng.randrange(1, 10**6)
        cohort = _session_lookup(f"{rng.getrandbits(128):032x}")
        method, path = rng.choice(
            [
                ("GET", f"/api/{feature}/items"),
                ("GET", f"/api/{feature}/items/{n}"),
                ("POST", f"/api/{feature}/items/{n}/cancel"),
                ("GET", f"/api/{feature}/items/{n}/notes/{n % 97}"),
                ("GET", f"/api/{feature}/by-code/A{n}"),
                ("GET", f"/{feature}/reports/2026/{n % 12 + 1}"),
                ("GET", f"/legacy/unmatched/{n}"),  # falls through to legacy
                ("PATCH", f"/api/{feature}/items/{n}"),  # no PATCH routes at all
            ]
        )
        requests.append(RequestInfo(method, path, cohort=cohort))
    return requests


def measure(
    count: int, *, passes: int = 200, sample_size: int = 500, batch_size: int = 50
) -> RoutingResult:
    """Time `passes` runs over one sample of requests, in batches of `batch_size` decisions.

    Short batches (tens of microseconds) keep a batch that the scheduler interrupts (other
    processes on a busy machine) from averaging its pause into its neighbours'; the median over
    all batches is then the cost of a decision, and the p99 shows the interruptions.
    """
    rng = random.Random(count)
    table = RouteTable.build(build_routes(count))
    features = max(1, count // len(_SHAPES))
    requests = sample_requests(sample_size, features, rng)
    median, p99 = _time(table, requests, passes=passes, batch_size=batch_size)
    return RoutingResult(routes=count, median_us=median, p99_us=p99)


def _time(
    table: RouteTable, requests: list[RequestInfo], *, passes: int, batch_size: int
) -> tuple[float, float]:
    """(median, p99) microseconds per decision over `passes` runs of the requests."""
    batches = [requests[i : i + batch_size] for i in range(0, len(requests), batch_size)]
    for request in requests:  # warm up
        decide(request, table)
    per_decision_us: list[float] = []
    for _ in range(passes):
        for batch in batches:
            start = time.perf_counter_ns()
            for request in batch:
                decide(request, table)
            per_decision_us.append((time.perf_counter_ns() - start) / len(batch) / 1000)
    per_decision_us.sort()
    return statistics.median(per_decision_us), per_decision_us[int(len(per_decision_us) * 0.99) - 1]


# An RPC endpoint like trytond's: `POST /{db}/` with this many RPC routes (every fifth a
# `prefix.*` pattern), next to the 10,000 plain routes.
RPC_METHODS = 200


@dataclass(frozen=True)
class RpcResult:
    case: str
    median_us: float
    p99_us: float


def build_rpc_routes(count: int = RPC_METHODS) -> list[Route]:
    routes = []
    for i in range(count):
        name = f"model.mod{i:03d}.*" if i % 5 == 0 else f"model.mod{i:03d}.thing.search_read"
        rpc = RpcMatch("jsonrpc", name, RpcClass.READ if i % 2 else RpcClass.WRITE)
        routes.append(
            Route(f"rpc{i:03d}", "POST", "/{db}/", f"rpc{i:03d}", Phase.MIGRATED, rpc=rpc)
        )
    return routes


def _body_lookup(body: bytes) -> RpcLookup:
    """What the proxy's lookup does (`proxy.rpc_body`): parse the body only when asked."""

    def lookup() -> tuple[str, str] | None:
        call = rpc_call("application/json", None, None, body)
        return (
            None if call.protocol is None or call.method is None else (call.protocol, call.method)
        )

    return lookup


def measure_rpc(
    count: int = SIZES[-1], *, passes: int = 200, sample_size: int = 500, batch_size: int = 50
) -> list[RpcResult]:
    """Plain requests in a table that also has RPC routes (they must pay nothing), and RPC calls
    with a trytond-sized JSON body, parsed per decision (the matcher's whole cost)."""
    rng = random.Random(count)
    table = RouteTable.build([*build_routes(count), *build_rpc_routes()])
    plain = sample_requests(sample_size, max(1, count // len(_SHAPES)), rng)
    calls = []
    for _ in range(sample_size):
        i = rng.randrange(RPC_METHODS + 20)  # a few call methods no route names
        body = json.dumps(
            {
                "id": i,
                "method": f"model.mod{i:03d}.thing.search_read",
                "params": [[["name", "ilike", "%a%"]], 0, 80, None, {"language": "en"}],
            }
        ).encode()
        calls.append(RequestInfo("POST", "/tryton/", rpc=_body_lookup(body)))
    results = []
    for case, requests in (("plain, RPC routes elsewhere", plain), ("JSON-RPC body parsed", calls)):
        median, p99 = _time(table, requests, passes=passes, batch_size=batch_size)
        results.append(RpcResult(case, median, p99))
    return results


def run() -> list[RoutingResult]:
    return [measure(size) for size in SIZES]


def report_rpc(results: list[RpcResult]) -> list[str]:
    lines = [f"{'routing decision with RPC routes':<36} {'median us':>10} {'p99 us':>8}"]
    for result in results:
        lines.append(f"  {result.case:<34} {result.median_us:>10.2f} {result.p99_us:>8.2f}")
    return lines


def report(results: list[RoutingResult]) -> list[str]:
    smallest = results[0]
    lines = [
        f"{'routing decision':<36} {'median us':>10} {'p99 us':>8}  vs {smallest.routes} routes"
    ]
    for result in results:
        lines.append(
            f"  {result.routes:>6} routes{'':<22} {result.median_us:>10.2f} {result.p99_us:>8.2f}  "
            f"{result.median_us / smallest.median_us:.2f}x"
        )
    largest = results[-1]
    verdict = "meets" if largest.median_us <= TARGET_US else "MISSES"
    lines.append(
        f"  {verdict} the target of <= {TARGET_US:.0f} us per decision at {largest.routes} routes"
    )
    return lines
