"""`manage.py runservice NAME`: serve one extracted service with gunicorn.

The command checks what it can before serving (a known service, a usable identity key), then
*replaces itself* with gunicorn (`os.execvpe`) with FICUS_SERVICE=NAME in the environment, so
the settings install, route and connect that one service only, and the process a launcher
started is the gunicorn master: SIGTERM stops it gracefully (in-flight requests finish),
SIGINT stops it at once, both exiting 0. There is no wrapper process to forward signals.

Logging: Ficus's access log (extracted/core/access_log.py) records route templates, not paths,
since a path holds record ids. gunicorn's own access log is off unless `--access-log` asks for
it, and even then it is written without query strings (`%(U)s`, never `%(r)s`).

Metrics: `/__ficus/metrics` (operations only, extracted/core/metrics.py) sums the workers'
prometheus_client files in one stable directory per service, `PROMETHEUS_MULTIPROC_DIR` if the
operator set it, else `$FICUS_VAR_DIR/metrics/NAME`: gunicorn's hooks clear a previous run's
files at start (a master killed with SIGKILL never ran its exit hook), fold dead workers' files
and clear them at exit (extracted/core/metrics_files.py), so nothing piles up across runs. Two
instances of one service need their own `FICUS_VAR_DIR` or `PROMETHEUS_MULTIPROC_DIR`.

Limits: gunicorn's defaults, given explicitly and kept on purpose (a direct client must not
make a worker hold an unbounded head): a request line of at most 4094 bytes, at most 100 header
fields of at most 8190 bytes each. What is over them is refused (414, 431) by the worker class
(extracted/core/gunicorn_refusals.py) in the face of the path, like the services' answers.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from domain.identity import MIN_KEY_BYTES
from extracted.core.gunicorn_refusals import (
    HEADER_FIELD_SIZE_LIMIT,
    HEADER_FIELDS_LIMIT,
    REQUEST_LINE_LIMIT,
)
from extracted.core.identity import usable_identity_key
from extracted.core.metrics_files import DIR_ENV
from migration_plans.feature_registry import features

# The demo's port for each service: its plan's upstream (docs/internal/brief.md); tests pass
# --port explicitly.
DEFAULT_PORTS = {"control": 8100, **{feature.name: feature.default_port for feature in features()}}
WORKER_CLASS = "extracted.core.gunicorn_refusals.FaceWorker"
GUNICORN_ACCESS_FORMAT = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'


def metrics_dir(name: str) -> str:
    """The service's directory of prometheus_client files when the operator names none."""
    return str(Path(settings.VAR_DIR) / "metrics" / name)


def _servable() -> tuple[str, ...]:
    return (*settings.ALL_SERVICES, settings.CONTROL_PLANE)


class Command(BaseCommand):
    help = (
        "Serve one extracted service with gunicorn (a production WSGI server). "
        "The process only installs, routes and connects to that service. "
        "Needs FICUS_IDENTITY_KEY (the secret shared with the proxy, at least "
        f"{MIN_KEY_BYTES} bytes). Run `manage.py migrate --database NAME` first."
    )
    # The checks run in this process would see every service; gunicorn's process is the one
    # that matters, and Django runs no checks there. The identity key is checked explicitly.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "name",
            help=f"the service: {', '.join(_servable())} ({settings.CONTROL_PLANE}: the "
            "control plane's API, /control/v1/)",
        )
        parser.add_argument("--host", default="127.0.0.1", help="address to bind [127.0.0.1]")
        parser.add_argument("--port", type=int, help="port to bind [the service's demo port]")
        parser.add_argument("--workers", type=int, default=2, help="worker processes [2]")
        parser.add_argument(
            "--access-log",
            action="store_true",
            help="also write gunicorn's access log (paths without query strings) to stderr",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["name"]
        if name not in _servable():
            raise CommandError(
                f"unknown service {name!r}; the services are: {', '.join(_servable())}"
            )
        # The control plane authenticates with its own tokens; the services trust only the proxy.
        if name != settings.CONTROL_PLANE and usable_identity_key() is None:
            raise CommandError(
                "FICUS_IDENTITY_KEY is unset or shorter than "
                f"{MIN_KEY_BYTES} bytes, so the service would refuse every request. "
                "Set it to the same secret the proxy signs identities with, e.g. "
                "FICUS_IDENTITY_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        # A service may name configuration it cannot run without (its AppConfig.preflight).
        config = apps.get_app_config(name) if name in settings.ALL_SERVICES else None
        preflight = getattr(config, "preflight", None)
        if preflight is not None and (problems := preflight()):
            raise CommandError(f"{name}: " + "; ".join(problems))
        workers: int = options["workers"]
        if workers < 1:
            raise CommandError("--workers must be at least 1")
        port: int = options["port"] or DEFAULT_PORTS.get(name, 8100)
        bind = (
            f"[{options['host']}]:{port}" if ":" in options["host"] else f"{options['host']}:{port}"
        )

        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            bind,
            "--workers",
            str(workers),
            "--name",
            f"ficus-{name}",
            "--error-logfile",
            "-",
            # gunicorn 27 opens a control socket in ~/.gunicorn by default; two services
            # (or two tests) would fight over the same path.
            "--no-control-socket",
            # gunicorn's own refusals (a request line over --limit-request-line, header
            # fields over its limits, ...) in the face of the path, as every other answer.
            "--worker-class",
            WORKER_CLASS,
            "--limit-request-line",
            str(REQUEST_LINE_LIMIT),
            "--limit-request-fields",
            str(HEADER_FIELDS_LIMIT),
            "--limit-request-field_size",
            str(HEADER_FIELD_SIZE_LIMIT),
            # Prometheus across the workers: the hooks fold a dead worker's metric files into
            # one retired set and remove the directory at exit (extracted/core/metrics_files.py).
            "--config",
            "python:extracted.core.metrics_files",
        ]
        if options["access_log"]:
            argv += ["--access-logfile", "-", "--access-logformat", GUNICORN_ACCESS_FORMAT]
        argv.append("extracted.wsgi:application")

        env = {
            **os.environ,
            # One stable directory per service, cleared at start and exit: never one per run.
            DIR_ENV: os.environ.get(DIR_ENV) or metrics_dir(name),
            "FICUS_SERVICE": name,
            "DJANGO_SETTINGS_MODULE": os.environ.get(
                "DJANGO_SETTINGS_MODULE", "extracted.settings"
            ),
        }
        self.stdout.write(f"runservice: serving {name} with gunicorn on http://{bind}/")
        self.stdout.flush()
        sys.stderr.flush()
        # No shell, and every argument was built or validated above.
        os.execvpe(sys.executable, argv, env)  # noqa: S606
