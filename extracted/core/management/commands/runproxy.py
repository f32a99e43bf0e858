"""`manage.py runproxy`: start Ficus's proxy in front of the legacy app.

Resolves the defaults from Ficus's settings (so the proxy reads the same plans directory and
legacy database as the rest of Ficus), then replaces this process with `python -m proxy.server`:
the proxy runs without Django loaded, signals reach it directly, and the Django apps never import
mitmproxy (an import-linter contract). Secrets travel in the environment, never on a command
line where process lists show them: the identity key (`FICUS_IDENTITY_KEY`) and the legacy
database URL, which may hold a password (`LEGACY_DATABASE_URL`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

DEFAULT_LEGACY_URL = "http://127.0.0.1:8001"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Run Ficus's proxy (mitmproxy in reverse mode, curated addons) in front of the legacy "
        "app: routes from the plan files go to their extracted services, everything else to "
        "legacy. Needs FICUS_IDENTITY_KEY in the environment when a route is served by a service."
    )
    requires_system_checks: list[str] = []  # the proxy uses no models

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
        )
        parser.add_argument(
            "--port", type=int, default=8000, help="port to listen on (default: %(default)s)"
        )
        parser.add_argument(
            "--legacy",
            default=DEFAULT_LEGACY_URL,
            help="URL of the legacy app; every request that no plan routes elsewhere goes "
            "there (default: %(default)s)",
        )
        parser.add_argument(
            "--plans",
            default=str(settings.FICUS_PLANS_DIR),
            help="directory of plan files (default: FICUS_PLANS_DIR, %(default)s)",
        )
        parser.add_argument(
            "--legacy-db",
            default=None,
            help="SQLAlchemy URL of the legacy database, read for session lookups "
            "(default: LEGACY_DATABASE_URL; not shown, it may hold a password)",
        )
        parser.add_argument(
            "--access-log",
            default="-",
            help="file to append the JSON-lines access log to, or - for stderr "
            "(default: %(default)s)",
        )
        parser.add_argument(
            "--workers",
            type=_positive_int,
            default=1,
            help="worker processes serving the port, supervised: a dead worker is restarted "
            "(default: %(default)s)",
        )
        parser.add_argument(
            "--connect-timeout",
            type=_positive_float,
            default=3.0,
            help="seconds to connect to an upstream before the client gets a 504 "
            "(default: %(default)s)",
        )
        parser.add_argument(
            "--read-timeout",
            type=_positive_float,
            default=30.0,
            help="seconds an upstream may stay silent mid-answer before the client gets a 504 "
            "(default: %(default)s)",
        )
        parser.add_argument(
            "--max-body",
            default="10m",
            help="largest request body accepted, e.g. 512k or 10m; larger ones get a 413 "
            "(default: %(default)s)",
        )
        parser.add_argument(
            "--breaker-failures",
            type=_positive_int,
            default=5,
            help="consecutive 5xx answers or connection failures that open a service "
            "instance's circuit breaker (default: %(default)s)",
        )
        parser.add_argument(
            "--breaker-cooldown",
            type=_positive_float,
            default=10.0,
            help="seconds an open breaker answers 503 before one probe request is let through "
            "(default: %(default)s)",
        )
        parser.add_argument(
            "--max-buffered-bodies",
            default="64m",
            help="request body bytes the whole proxy holds at once, e.g. 64m; with --workers N "
            "each worker holds its share (this divided by N); a body that does not fit gets 503 "
            "with Retry-After; a share below --max-body is refused at start (default: %(default)s)",
        )
        parser.add_argument(
            "--head-timeout",
            type=_positive_float,
            default=15.0,
            help="seconds a client has to send a whole request head, from the connection's "
            "start or the previous answer's end; then 408 and the connection closed "
            "(default: %(default)s)",
        )
        parser.add_argument(
            "--body-timeout",
            type=_positive_float,
            default=20.0,
            help="seconds a client has to send a request body from its head's arrival, one "
            "more for every --body-min-rate bytes received (Apache mod_reqtimeout's model); a "
            "body that falls behind gets 408 and the connection closed (default: %(default)s)",
        )
        parser.add_argument(
            "--body-min-rate",
            type=_positive_int,
            default=500,
            help="request body bytes that buy one more second of --body-timeout: a body "
            "slower than this on average runs out of time (default: %(default)s)",
        )
        parser.add_argument(
            "--metrics-port",
            type=_positive_int,
            default=None,
            help="serve Prometheus /metrics on this port (with --workers N, the supervisor "
            "serves the sum of its workers; docs/observability.md); off by default",
        )
        parser.add_argument(
            "--metrics-host",
            default="127.0.0.1",
            help="address /metrics listens on; keep it on loopback or an operations network "
            "(default: %(default)s)",
        )
        parser.add_argument(
            "--legacy-host-header",
            choices=("preserve", "rewrite"),
            default="preserve",
            help="the Host header the legacy app gets: the client's, as received (preserve: "
            "legacy apps check Origin against it), or the --legacy URL's authority (rewrite); "
            "X-Forwarded-Host carries the client's either way (default: %(default)s)",
        )
        parser.add_argument(
            "--route-limits",
            default="",
            help="YAML file of per-route read timeouts, for legacy's routes as well (e.g. a "
            "long poll: `routes: [{route: POST /{db}/bus, read_timeout_seconds: 300}]`); "
            "other routes keep --read-timeout (docs/proxy.md; default: none)",
        )
        parser.add_argument(
            "--confdir",
            default=str(Path(settings.VAR_DIR) / "mitmproxy"),
            help="where mitmproxy keeps the CA that signs certificates for TLS clients "
            "(default: %(default)s)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        argv = [
            sys.executable,
            "-m",
            "proxy.server",
            *("--host", options["host"]),
            *("--port", str(options["port"])),
            *("--legacy", options["legacy"]),
            *("--plans", options["plans"]),
            *("--access-log", options["access_log"]),
            *("--confdir", options["confdir"]),
            *("--workers", str(options["workers"])),
            *("--connect-timeout", str(options["connect_timeout"])),
            *("--read-timeout", str(options["read_timeout"])),
            *("--max-body", options["max_body"]),
            *("--breaker-failures", str(options["breaker_failures"])),
            *("--breaker-cooldown", str(options["breaker_cooldown"])),
            *("--head-timeout", str(options["head_timeout"])),
            *("--max-buffered-bodies", options["max_buffered_bodies"]),
            *("--body-timeout", str(options["body_timeout"])),
            *("--body-min-rate", str(options["body_min_rate"])),
            *("--metrics-host", options["metrics_host"]),
            *("--legacy-host-header", options["legacy_host_header"]),
            *("--route-limits", options["route_limits"]),
        ]
        if options["metrics_port"] is not None:
            argv += ["--metrics-port", str(options["metrics_port"])]
        env = {
            **os.environ,
            "LEGACY_DATABASE_URL": options["legacy_db"] or settings.LEGACY_DATABASE_URL,
        }
        sys.stdout.flush()
        sys.stderr.flush()
        # exec, not a child process: one PID to signal (the supervisor when --workers > 1), and
        # no Django in the proxy's memory.
        os.execve(sys.executable, argv, env)  # noqa: S606 - argv is a list, no shell involved
