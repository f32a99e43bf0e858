"""WSGI entry point for the extracted services (served by gunicorn via `manage.py runservice`).

The application is Django's, with the answers the services' gunicorn worker sends for
gunicorn's own refusals (`RefusingApplication`). Those answers are Django responses, so their
module is imported once Django is set up, which is why one import stands below code here.
"""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from extracted.core.gunicorn_refusals import RefusingApplication

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "extracted.settings")
django_application = get_wsgi_application()

from extracted.core.refusal_answers import refusal_bytes  # noqa: E402  (needs Django set up)

application = RefusingApplication(django_application, refusal_bytes)
