"""`manage.py controlplane oauth-client create|revoke`: machine clients with SMART scopes."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from migration_plans.models import AuditRecord, OAuthClientScopes
from migration_plans.oauth_scopes import SmartScopes, all_scopes

pytestmark = pytest.mark.django_db(databases=["default"])


def oauth_client(*args: str) -> str:
    out = io.StringIO()
    call_command("controlplane", "oauth-client", *args, "--actor", "admin-al", stdout=out)
    return out.getvalue()


def test_the_operator_registers_a_client_whose_secret_is_shown_once_and_stored_hashed():
    out = oauth_client("create", "--name", "chart-reader", "--scope", "patient/Patient.read")
    secret = out.splitlines()[1].rsplit(" ", 1)[-1]
    application = Application.objects.get(name="chart-reader")
    assert application.client_secret != secret  # hashed
    assert SmartScopes().get_available_scopes(application) == ["patient/Patient.read"]
    record = AuditRecord.objects.get()
    assert (record.action, record.subject) == ("oauth_client.create", "oauth client chart-reader")
    assert secret not in record.details


def test_a_scope_that_is_not_smart_is_refused():
    with pytest.raises(CommandError, match="not SMART v1 scopes: read"):
        oauth_client("create", "--name", "vague", "--scope", "read")
    assert not Application.objects.exists()


def test_revoking_deletes_the_client_with_its_tokens_and_audits_it():
    oauth_client("create", "--name", "leaving", "--scope", "system/*.read")
    application = Application.objects.get(name="leaving")
    AccessToken.objects.create(
        application=application,
        token="t-1",
        scope="system/*.read",
        expires=timezone.now() + timedelta(hours=1),
    )
    assert "with its 1 token(s)" in oauth_client("revoke", "--name", "leaving")
    assert not AccessToken.objects.exists()
    assert not OAuthClientScopes.objects.exists()
    last = AuditRecord.objects.order_by("id").last()
    assert last is not None
    assert last.action == "oauth_client.revoke"


def test_every_scope_names_a_type_some_plan_serves_or_all():
    resources = {scope.split("/")[1].split(".")[0] for scope in all_scopes()}
    assert resources == {"Patient", "Appointment", "*"}
