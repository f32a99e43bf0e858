from __future__ import annotations

from django.apps import AppConfig
from django.core import checks
from django.urls import register_converter

from extracted.core.checks import check_hospital_time_zone
from extracted.core.converters import LegacyIdConverter


class CoreConfig(AppConfig):
    """What every extracted service shares: the identity bridge, legacy error bodies, runservice."""

    name = "extracted.core"
    label = "ficus_core"

    def ready(self) -> None:
        # Registered once here (before any URLconf loads) so every service can use it.
        register_converter(LegacyIdConverter, "legacy_id")
        checks.register(check_hospital_time_zone)
