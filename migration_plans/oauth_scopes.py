"""Which SMART scopes exist and which an OAuth2 client may get (django-oauth-toolkit backend).

Every SMART v1 resource scope (`domain.smart_scopes`) for the resource types the plans' FHIR
faces serve (or `*`) is a scope; a client may be granted only those registered for it
(`OAuthClientScopes`, set by `manage.py controlplane oauth-client create --scope ...`). A client
asking for more gets `invalid_scope`; one asking for none gets all of its own.
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.scopes import BaseScopes

from domain.smart_scopes import ACCESS, CONTEXTS
from migration_plans.feature_registry import fhir_types
from migration_plans.models import OAuthClientScopes


def all_scopes() -> dict[str, str]:
    return {
        f"{context}/{resource}.{access}": f"{access} {resource} ({context} level)"
        for context in CONTEXTS
        for resource in (*fhir_types(), "*")
        for access in ACCESS
    }


def client_scopes(application: Any) -> list[str]:
    if application is None:
        return []
    row = OAuthClientScopes.objects.filter(application=application).first()
    return row.scopes.split() if row is not None else []


class SmartScopes(BaseScopes):  # type: ignore[misc]  # the library is not annotated
    def get_all_scopes(self) -> dict[str, str]:
        return all_scopes()

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return client_scopes(application)

    def get_default_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        return client_scopes(application)
