"""`make demo`: seed, start and supervise the whole Ficus demo stack on embedded SQLite.

Runs the legacy hospital monolith, the extracted service of each feature (the registry,
migration_plans/feature_registry.py), the control plane, the routing proxy and the sync worker,
prints where to point a browser, and stops them all on Ctrl-C. A second run reuses the seeded
databases under var/; `make clean-demo` starts from scratch.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType

from demo.launcher import REPO_ROOT, Ports, Stack, StackConfig, StackError
from migration_plans.feature_registry import features

DEMO_LOGINS = (
    ("clinician", "CLIN", "a clinician: patient search, charts, the appointment book"),
    ("scheduler", "SCHED", "a scheduler: books and reschedules appointments"),
    ("billing", "BILL", "a billing clerk: the billing report"),
    # Neither has clinical access; their tools are the control plane's commands and API.
    ("operator", "OPER", "a Ficus operator: moves routes (plan advance / rollback, API token)"),
    ("auditor", "AUDIT", "an auditor: reads route states, history and the audit chain"),
)


class _StopRequestedError(Exception):
    """Raised from the SIGINT/SIGTERM handler to unwind into the clean shutdown path."""


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description="Run the Ficus demo: a legacy hospital app with one route strangled out.",
    )
    parser.add_argument(
        "--var", type=Path, default=REPO_ROOT / "var", help="data and log directory (default: var/)"
    )
    parser.add_argument(
        "--proxy-port", type=int, default=8000, help="where clinicians connect (default: 8000)"
    )
    parser.add_argument(
        "--legacy-port", type=int, default=8001, help="the legacy monolith (default: 8001)"
    )
    parser.add_argument(
        "--control-port", type=int, default=8100, help="the control plane API (default: 8100)"
    )
    for feature in features():
        parser.add_argument(
            f"--{feature.name}-port",
            type=int,
            default=feature.default_port,
            help=f"the {feature.name} service (default: {feature.default_port})",
        )
    parser.add_argument(
        "--prometheus-port",
        type=int,
        default=9190,
        help="the demo's Prometheus, when Debian's prometheus is installed (default: 9190)",
    )
    parser.add_argument(
        "--legacy-seed",
        default="",
        metavar="OPTIONS",
        help="options for seeding the sample monolith on first run, as `python -m demo.legacy "
        "init-db` takes them (its --help lists them; default: its own sizes)",
    )
    return parser.parse_args(argv)


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex((host, port)) == 0


def _banner(config: StackConfig) -> str:
    tokens = config.var_dir / "secrets"
    logins = "\n".join(f"    {login:<10} {role:<6} {what}" for login, role, what in DEMO_LOGINS)
    services = "\n".join(
        f"    {config.url(port):<26} {name} service (extracted/{name})"
        for name, port in config.ports.services.items()
    )
    return f"""
Ficus demo is running.

  Open {config.proxy_url}/ in a browser (the clinicians' front end, through the Ficus proxy).
  Log in as any of these synthetic users; the password of each is "demo":
{logins}

  What is where:
    {config.proxy_url:<26} Ficus routing proxy (mitmproxy, reverse mode)
    {config.url(config.ports.legacy):<26} legacy monolith (demo/legacy)
{services}
    {config.url(config.ports.control) + "/control/v1/":<26} control plane API (tokens in {tokens}/)
  GET /api/appointments/{{id}} and the patient reads are served by the services; everything
  else by the legacy app. Every request's route and upstream is in {config.access_log}.
  Move a feature and roll it back from another terminal: `.venv/bin/python manage.py plan
  status`, then `plan advance appointments --reason "..."` (README, "Moving a feature").
  Metrics (Prometheus text): proxy {config.url(config.ports.proxy_metrics)}/metrics, sync worker
    {config.url(config.ports.sync_metrics)}/metrics, each service's /__ficus/metrics.
{_prometheus_line(config)}  Logs: {config.log_dir}/

Press Ctrl-C to stop everything.
"""


def _prometheus_line(config: StackConfig) -> str:
    if not config.runs_prometheus:
        return "  Prometheus: not installed (apt-get install prometheus), so not started.\n"
    return (
        f"  Prometheus: {config.prometheus_url}/ scrapes them all (alerts: docs/prometheus/;\n"
        "    a Grafana dashboard to import: docs/grafana/ficus.json).\n"
    )


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    services = {feature.name: getattr(args, f"{feature.name}_port") for feature in features()}
    config = StackConfig(
        var_dir=args.var.resolve(),  # children run from the repo root; keep paths absolute
        ports=Ports(
            proxy=args.proxy_port,
            legacy=args.legacy_port,
            control=args.control_port,
            services=services,
            prometheus=args.prometheus_port,
        ),
        legacy_seed_args=tuple(shlex.split(args.legacy_seed)),
    )
    busy = [
        str(p)
        for p in (
            args.proxy_port,
            args.legacy_port,
            args.control_port,
            *services.values(),
            config.ports.proxy_metrics,
            config.ports.sync_metrics,
            *([args.prometheus_port] if config.runs_prometheus else []),
        )
        if _port_in_use(config.host, p)
    ]
    if busy:
        print(
            f"demo: port(s) {', '.join(busy)} on {config.host} are already in use "
            "(is another demo running?). Stop it, or pick other ports with --proxy-port, "
            "--legacy-port, --control-port, --prometheus-port"
            + "".join(f", --{name}-port" for name in services)
            + ".",
            file=sys.stderr,
        )
        return 2

    def request_stop(signum: int, frame: FrameType | None) -> None:
        raise _StopRequestedError

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stack = Stack(config)
    try:
        print(
            "demo: preparing databases under",
            config.var_dir,
            "(the first run seeds them) ...",
            flush=True,
        )
        stack.prepare()
        print(
            "demo: starting the control plane, the legacy app, both services, the proxy and the "
            "sync worker",
            flush=True,
        )
        stack.start()
        print(_banner(config), flush=True)
        while True:
            stack.check_alive()
            time.sleep(1)
    except _StopRequestedError:
        print("\ndemo: stopping ...", flush=True)
        stack.stop()
        print("demo: stopped.")
        return 0
    except StackError as e:
        stack.stop()
        print(f"demo: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
