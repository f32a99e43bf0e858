from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every extracted service shares: the identity bridge, legacy error bodies, runservice."""

    name = "extracted.core"
    label = "ficus_core"
