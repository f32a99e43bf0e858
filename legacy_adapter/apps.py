from __future__ import annotations

from django.apps import AppConfig


class LegacyAdapterConfig(AppConfig):
    """Hosts the `sync` management command; the adapter itself is SQLAlchemy and framework-free."""

    name = "legacy_adapter"
