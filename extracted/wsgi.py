"""WSGI entry point for the extracted services (served by gunicorn via `manage.py runservice`)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "extracted.settings")
application = get_wsgi_application()
