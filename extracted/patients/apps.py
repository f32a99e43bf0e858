from __future__ import annotations

from django.apps import AppConfig

from extracted.patients.crypto import key_problem


class PatientsConfig(AppConfig):
    """The patients service: its label is also its database alias (see extracted/routers.py)."""

    name = "extracted.patients"
    label = "patients"
    default_auto_field = "django.db.models.BigAutoField"

    def preflight(self) -> list[str]:
        """Problems that would make every request fail; `runservice` refuses to start on them."""
        problem = key_problem()
        return [problem] if problem else []
