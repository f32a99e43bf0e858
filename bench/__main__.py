"""`make bench`: run the benchmarks and report them as ratios measured in one run.

Absolute numbers depend on the machine; ratios against a baseline measured in the same run
(direct, stock mitmdump) are what the targets in DESIGN.md §9 are stated in. Results are also
written to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from bench import proxy_throughput, routing_decide

RESULTS = Path(__file__).resolve().parent / "results"


def _report_proxy(runs: list[proxy_throughput.ProxyRun]) -> list[str]:
    by_name = {run.name: run for run in runs}
    direct, stock = by_name["direct"], by_name["stock mitmdump"]
    header = ("proxy throughput", "req/s", "p50 ms", "p99 ms", "1-conn p50", "errors")
    lines = ["{:<36} {:>9} {:>8} {:>8} {:>11} {:>7}".format(*header)]
    for run in runs:
        t, one = run.throughput, run.single_connection
        lines.append(
            f"  {run.name:<34} {t.requests_per_second:>9.0f} {t.p50_ms:>8.2f} {t.p99_ms:>8.2f} "
            f"{one.p50_ms:>11.3f} {t.errors:>7}"
        )
    for name in ("Ficus, legacy route", "Ficus, migrated route + identity"):
        ficus = by_name[name]
        rps = ficus.throughput.requests_per_second
        vs_stock = rps / stock.throughput.requests_per_second
        vs_direct = rps / direct.throughput.requests_per_second
        added_ms = ficus.single_connection.p50_ms - direct.single_connection.p50_ms
        lines.append(
            f"  {name}: {vs_stock:.2f}x stock mitmdump, {vs_direct:.3f}x direct; "
            f"adds {added_ms:+.3f} ms p50 at 1 connection"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=5.0, help="duration of each load run (default 5)"
    )
    parser.add_argument(
        "--connections", type=int, default=32, help="concurrent connections (default 32)"
    )
    parser.add_argument("--only", choices=["proxy", "routing"], help="run just one benchmark")
    args = parser.parse_args()

    report: dict[str, object] = {}
    lines: list[str] = []
    if args.only in (None, "routing"):
        routing = routing_decide.run()
        report["routing"] = [asdict(r) for r in routing]
        lines += routing_decide.report(routing)
    if args.only in (None, "proxy"):
        runs = proxy_throughput.run(seconds=args.seconds, connections=args.connections)
        report["proxy"] = [asdict(r) for r in runs]
        lines += _report_proxy(runs)
    print("\n".join(lines))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
