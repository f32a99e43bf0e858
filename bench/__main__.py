"""`make bench`: run the benchmarks and report them as ratios measured in one run.

Absolute numbers depend on the machine; ratios against a baseline measured in the same run
(direct, stock mitmdump) are what the targets in DESIGN.md §9 are stated in. Results are also
written to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from bench import proxy_throughput, routing_decide, shadow_overhead, sync_apply

RESULTS = Path(__file__).resolve().parent / "results"


def _mib(values: list[float]) -> str:
    return "/".join(f"{v:.0f}" for v in values)


def _report_proxy(runs: list[proxy_throughput.ProxyRun], connections: int) -> list[str]:
    by_name = {run.name: run for run in runs}
    header = (
        "proxy",
        f"req/s@{connections}",
        "p50 ms",
        "p99 ms",
        "req/s@1",
        "p50@1",
        "p99@1",
        "errors",
        "peak RSS MiB/worker",
        "same +1000 idle",
        "CPU/worker",
    )
    fmt = "{:<32} {:>10} {:>8} {:>8} {:>8} {:>7} {:>7} {:>6}  {:>19}  {:>15}  {:>10}"
    lines = [fmt.format(*header)]
    for run in runs:
        t, one, mem = run.throughput, run.single_connection, run.memory
        idle = f"{_mib(mem.peak_rss_idle_mib)} ({mem.idle_connections})" if mem else "-"
        lines.append(
            fmt.format(
                run.name,
                f"{t.requests_per_second:.0f}",
                f"{t.p50_ms:.2f}",
                f"{t.p99_ms:.2f}",
                f"{one.requests_per_second:.0f}",
                f"{one.p50_ms:.3f}",
                f"{one.p99_ms:.3f}",
                t.errors + one.errors,
                _mib(mem.peak_rss_mib) if mem else "-",
                idle,
                "/".join(f"{c:.2f}" for c in run.cpu_per_worker) if run.cpu_per_worker else "-",
            )
        )

    def rps(name: str) -> float:
        return by_name[name].throughput.requests_per_second

    direct_p50 = by_name["direct"].single_connection.p50_ms
    forwarders = [
        f"{rps(f'Ficus 1w, {name} forwarding') / rps('Ficus 1w'):.2f}x with {name}"
        for name in ("mitmproxy", "httpx")
        if f"Ficus 1w, {name} forwarding" in by_name
    ]
    lines += [
        "ratios (throughput at the higher connection count):",
        f"  Ficus 1w / stock mitmdump: {rps('Ficus 1w') / rps('stock mitmdump'):.2f}x "
        "(target >= 1.5x)",
        f"  Ficus 2w / Ficus 1w:       {rps('Ficus 2w') / rps('Ficus 1w'):.2f}x (target >= 1.7x)",
        f"  Ficus 1w / nginx:          {rps('Ficus 1w') / rps('nginx'):.3f}x",
        f"  forwarding, against Ficus's own forwarder: {', '.join(forwarders)}",
        f"  Ficus 1w, migrated + identity / stock mitmdump: "
        f"{rps('Ficus 1w, migrated + identity') / rps('stock mitmdump'):.2f}x",
        *(
            f"  Ficus {w}w, metrics on / off:  "
            f"{rps(f'Ficus {w}w, metrics on') / rps(f'Ficus {w}w'):.3f}x (target >= 0.97x)"
            for w in (1, 2)
        ),
    ]
    for name in ("Ficus 1w", "Ficus 1w, migrated + identity", "stock mitmdump", "nginx"):
        added = by_name[name].single_connection.p50_ms - direct_p50
        lines.append(f"  {name} adds {added:+.3f} ms p50 at 1 connection (target <= 0.5 ms)")
    plain, rpc = (
        by_name.get("Ficus 1w, POST JSON, no RPC route"),
        by_name.get("Ficus 1w, POST JSON-RPC, matched"),
    )
    if plain is not None and rpc is not None:
        lines.append(
            "  the RPC matcher: "
            f"{rpc.throughput.requests_per_second / plain.throughput.requests_per_second:.3f}x "
            f"throughput, {rpc.single_connection.p50_ms - plain.single_connection.p50_ms:+.3f} "
            "ms p50 at 1 connection (same JSON POST, RPC route or none)"
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
    parser.add_argument(
        "--rounds", type=int, default=3, help="proxy runs per figure, median kept (default 3)"
    )
    parser.add_argument(
        "--only",
        choices=["proxy", "shadow", "routing", "sync"],
        help="run just one benchmark",
    )
    args = parser.parse_args()

    report: dict[str, object] = {}
    lines: list[str] = []
    if args.only in (None, "routing"):
        routing = routing_decide.run()
        report["routing"] = [asdict(r) for r in routing]
        lines += routing_decide.report(routing)
        rpc = routing_decide.measure_rpc()
        report["routing_rpc"] = [asdict(r) for r in rpc]
        lines += routing_decide.report_rpc(rpc)
    if args.only in (None, "proxy"):
        load_before = Path("/proc/loadavg").read_text().split()[0]
        runs = proxy_throughput.run(
            seconds=args.seconds, connections=args.connections, rounds=args.rounds
        )
        report["proxy"] = [asdict(r) for r in runs]
        lines += _report_proxy(runs, args.connections)
        load_after = Path("/proc/loadavg").read_text().split()[0]
        lines.append(
            f"  machine load average (1 min) before/after the proxy runs: {load_before}/"
            f"{load_after} on {os.cpu_count()} CPUs (other work competes with the proxies)"
        )
    if args.only in (None, "shadow"):
        shadowed = shadow_overhead.run(
            seconds=args.seconds, connections=args.connections, rounds=args.rounds
        )
        report["shadow"] = [asdict(r) for r in shadowed]
        lines += shadow_overhead.report(shadowed, args.connections)
    if args.only in (None, "sync"):
        synced = sync_apply.run()
        report["sync"] = [asdict(r) for r in synced]
        lines += sync_apply.report(synced)
    print("\n".join(lines))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
