"""How long one routing decision takes as the route table grows (target: <= 10 us at 10,000).

Routes look like a real inventory: many features, each with a collection, an item with an int
id, item sub-resources and a str-keyed lookup, over several methods. Requests mix hits at every
depth with misses that fall through to the legacy default. Each figure is the median of many
timed batches, so one scheduler hiccup does not move it.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass

from proxy.routing import Phase, RequestInfo, Route, RouteTable, decide

SIZES = (100, 1_000, 10_000)
TARGET_US = 10.0
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
                    phase=Phase.MIGRATED,
                )
            )
        feature_index += 1
    return routes


def sample_requests(count: int, features: int, rng: random.Random) -> list[RequestInfo]:
    requests: list[RequestInfo] = []
    for _ in range(count):
        feature = f"feature{rng.randrange(features):05d}"
        n = rng.randrange(1, 10**6)
        requests.append(
            rng.choice(
                [
                    RequestInfo("GET", f"/api/{feature}/items"),
                    RequestInfo("GET", f"/api/{feature}/items/{n}"),
                    RequestInfo("POST", f"/api/{feature}/items/{n}/cancel"),
                    RequestInfo("GET", f"/api/{feature}/items/{n}/notes/{n % 97}"),
                    RequestInfo("GET", f"/api/{feature}/by-code/A{n}"),
                    RequestInfo("GET", f"/{feature}/reports/2026/{n % 12 + 1}"),
                    RequestInfo("GET", f"/legacy/unmatched/{n}"),  # falls through to legacy
                    RequestInfo("PATCH", f"/api/{feature}/items/{n}"),  # no PATCH routes at all
                ]
            )
        )
    return requests


def measure(count: int, *, batches: int = 200, batch_size: int = 500) -> RoutingResult:
    rng = random.Random(count)
    table = RouteTable.build(build_routes(count))
    features = max(1, count // len(_SHAPES))
    requests = sample_requests(batch_size, features, rng)
    for request in requests:  # warm up
        decide(request, table)
    per_decision_us: list[float] = []
    for _ in range(batches):
        start = time.perf_counter_ns()
        for request in requests:
            decide(request, table)
        per_decision_us.append((time.perf_counter_ns() - start) / batch_size / 1000)
    per_decision_us.sort()
    return RoutingResult(
        routes=count,
        median_us=statistics.median(per_decision_us),
        p99_us=per_decision_us[int(len(per_decision_us) * 0.99) - 1],
    )


def run() -> list[RoutingResult]:
    return [measure(size) for size in SIZES]


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
