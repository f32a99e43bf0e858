"""Keeps every extracted service on its own database.

An app whose label is a service name reads, writes and migrates only on the alias of that name;
everything else (the control plane, Django's own apps) lives on `default`. Relations never cross
aliases, so a service can move to its own server without a schema change.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Model


def _alias_for(app_label: str) -> str:
    return app_label if app_label in settings.SERVICES else "default"


class ServiceRouter:
    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        return _alias_for(model._meta.app_label)

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return _alias_for(model._meta.app_label)

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return _alias_for(obj1._meta.app_label) == _alias_for(obj2._meta.app_label)

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return _alias_for(app_label) == db
