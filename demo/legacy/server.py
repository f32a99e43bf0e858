"""`serve`: the legacy app under gunicorn, started programmatically.

Each worker builds its own engine after the fork (`load()` runs in the worker because
`preload_app` is off), so no database connection is ever shared across processes. gunicorn's
access log stays off: it would print raw query strings, and patient searches are PHI. The app
logs one line per request itself, with the route template instead of the path (see app.py).
gunicorn's control socket is disabled so several instances (tests, demos) can run side by side.
SIGTERM and SIGINT are gunicorn's own clean shutdown.
"""

from __future__ import annotations

import logging
import sys
from typing import Any
from wsgiref.types import WSGIApplication

from gunicorn.app.base import BaseApplication

from demo.legacy.app import create_app
from demo.legacy.db import create_legacy_engine

LOG_FORMAT = "%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s"


class LegacyServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    def __init__(self, database_url: str, options: dict[str, Any]) -> None:
        self.database_url = database_url
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> WSGIApplication:
        return create_app(create_legacy_engine(self.database_url))


def gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    return {
        "bind": [f"{host}:{port}"],
        "workers": workers,
        # sync workers answer one request at a time and close the connection, like the
        # original; gthread adds keep-alive for benchmarks that want it.
        "worker_class": "gthread" if threads > 1 else "sync",
        "threads": threads,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "legacy-hospital",
        "control_socket_disable": True,
        "timeout": 30,
        "graceful_timeout": 10,
    }


def serve(database_url: str, *, host: str, port: int, workers: int, threads: int = 1) -> None:
    """Run until SIGTERM/SIGINT; gunicorn exits the process when it stops."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr)
    LegacyServer(database_url, gunicorn_options(host, port, workers, threads)).run()
