from __future__ import annotations

from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    """The appointments service: its label is also its database alias (see extracted/routers.py)."""

    name = "extracted.appointments"
    label = "appointments"
    default_auto_field = "django.db.models.BigAutoField"
