"""Tiny typed readers for settings that come from the environment.

A bad value fails loudly at start-up with ImproperlyConfigured naming the variable, rather than
surfacing later as a confusing runtime error (the healthchecks pattern).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no)")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_database(name: str, default_sqlite_path: Path) -> dict[str, Any]:
    """A Django DATABASES entry from a database URL (sqlite://, postgresql://, mysql://)."""
    url = os.environ.get(name) or f"sqlite:///{default_sqlite_path}"
    try:
        # dict(): dj-database-url returns its own TypedDict; settings add keys it does not know.
        config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    except ValueError as e:
        raise ImproperlyConfigured(f"{name} is not a usable database URL: {e}") from e
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Several processes (service, sync worker) share a SQLite file; wait instead of failing.
        config.setdefault("OPTIONS", {})["timeout"] = 20
        config["OPTIONS"]["init_command"] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        # Take the write lock when a transaction begins: a read-then-write transaction that
        # started deferred cannot wait for the lock, and fails with "database is locked".
        config["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
        config["CONN_MAX_AGE"] = 0
    if config["ENGINE"] == "django.db.backends.mysql":
        config.setdefault("OPTIONS", {})["charset"] = "utf8mb4"
        config["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_bin"}
    return config
