"""`manage.py controlplane token create|revoke|list`: roles as groups, every action audited."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.authtoken.models import Token

from migration_plans.models import AuditRecord

pytestmark = pytest.mark.django_db(databases=["default"])


def controlplane(*args):
    out = io.StringIO()
    call_command("controlplane", "token", *args, stdout=out)
    return out.getvalue()


def test_it_creates_a_token_with_a_role_and_audits_it_without_the_key():
    out = controlplane("create", "--user", "olga", "--role", "operator", "--actor", "admin-al")
    key = Token.objects.get(user__username="olga").key
    assert f"token for olga (operator): {key}" in out
    assert list(User.objects.get(username="olga").groups.values_list("name", flat=True)) == [
        "operator"
    ]
    record = AuditRecord.objects.get()
    assert (record.actor, record.action, record.subject) == (
        "admin-al",
        "token.create",
        "user olga",
    )
    assert key not in record.details
    assert json.loads(record.details)["role"] == "operator"


def test_it_replaces_the_token_and_the_role():
    controlplane("create", "--user", "ana", "--role", "operator")
    first = Token.objects.get().key
    controlplane("create", "--user", "ana", "--role", "auditor")
    assert Token.objects.get().key != first
    assert list(User.objects.get(username="ana").groups.values_list("name", flat=True)) == [
        "auditor"
    ]


def test_it_lists_and_revokes_tokens():
    controlplane("create", "--user", "ana", "--role", "auditor")
    listing = controlplane("list").splitlines()
    assert listing[0].split() == ["USER", "ROLE", "CREATED"]
    assert listing[1].split()[:2] == ["ana", "auditor"]
    assert controlplane("revoke", "--user", "ana").strip() == "token of ana revoked"
    assert not Token.objects.exists()
    assert AuditRecord.objects.order_by("-seq")[0].action == "token.revoke"
    with pytest.raises(CommandError, match="user 'ana' has no token"):
        controlplane("revoke", "--user", "ana")
