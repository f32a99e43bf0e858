"""`application` for gunicorn (`gunicorn demo.legacy.wsgi:application`), configured from the env.

This module is the composition root: the only place that turns `LEGACY_DATABASE_URL` into an
engine at import time. Creating an engine opens no connection, so importing this is cheap.
"""

from __future__ import annotations

from wsgiref.types import WSGIApplication

from demo.legacy.app import create_app
from demo.legacy.db import create_legacy_engine, database_url_from_env


def build_application(database_url: str | None = None) -> WSGIApplication:
    return create_app(create_legacy_engine(database_url or database_url_from_env()))


application = build_application()
