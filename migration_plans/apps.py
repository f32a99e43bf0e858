from __future__ import annotations

from django.apps import AppConfig


class MigrationPlansConfig(AppConfig):
    """The control plane: plans as code, route states, and the commands that drive the proxy."""

    name = "migration_plans"
