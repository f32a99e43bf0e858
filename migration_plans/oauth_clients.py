"""OAuth2 clients of the modern faces: registered and revoked by `controlplane oauth-client`.

A client is a django-oauth-toolkit `Application` (client credentials, its secret stored
hashed) plus the SMART scopes it may be granted. Revoking a client deletes it with every token
it holds, so its bearer tokens stop working on the next request (the services look each token
up). Each change is appended to the audit chain; secrets and tokens never are.
"""

from __future__ import annotations

import secrets

from django.db import transaction
from oauth2_provider.models import AccessToken, Application

from domain.smart_scopes import is_smart_scope
from migration_plans.audit_log import append_audit
from migration_plans.control_errors import ControlError
from migration_plans.models import OAuthClientScopes


@transaction.atomic
def create_client(*, name: str, scopes: list[str], actor: str) -> tuple[str, str]:
    """A new client-credentials client; returns (client_id, client_secret), the secret once."""
    if not name.strip():
        raise ControlError("a client name is required (--name NAME)")
    bad = [s for s in scopes if not is_smart_scope(s)]
    if bad or not scopes:
        raise ControlError(
            f"not SMART v1 scopes: {' '.join(bad) or '(none given)'} "
            "(use context/Resource.access, e.g. system/Patient.read)"
        )
    if Application.objects.filter(name=name).exists():
        raise ControlError(f"a client named {name!r} exists (revoke it first)", status=409)
    secret = secrets.token_urlsafe(32)
    application = Application.objects.create(
        name=name,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,  # hashed on save (hash_client_secret)
    )
    OAuthClientScopes.objects.create(application=application, scopes=" ".join(scopes))
    append_audit(
        actor=actor,
        action="oauth_client.create",
        subject=f"oauth client {name}",
        details={"client_id": application.client_id, "scopes": scopes},
    )
    return str(application.client_id), secret


@transaction.atomic
def revoke_client(*, name: str, actor: str) -> int:
    """Delete the client and its tokens; returns how many live tokens it held."""
    application = Application.objects.filter(name=name).first()
    if application is None:
        raise ControlError(f"no OAuth client named {name!r}", status=404)
    tokens = int(AccessToken.objects.filter(application=application).count())
    client_id = application.client_id
    application.delete()  # cascades to its tokens and its scopes
    append_audit(
        actor=actor,
        action="oauth_client.revoke",
        subject=f"oauth client {name}",
        details={"client_id": client_id, "tokens": tokens},
    )
    return tokens
