"""API tokens for operators and auditors: created and revoked by the `controlplane` command,
each change recorded in the audit log."""

from __future__ import annotations

from typing import Final

from django.contrib.auth.models import Group, User
from django.db import transaction
from rest_framework.authtoken.models import Token

from migration_plans.audit_log import append_audit
from migration_plans.control_errors import ControlError

ROLES: Final = ("operator", "auditor")


@transaction.atomic
def create_token(*, username: str, role: str, actor: str) -> str:
    """A new API token for username with role (replacing any old one); returns its key once."""
    if role not in ROLES:
        raise ControlError(f"{role!r} is not a role (use {' or '.join(ROLES)})")
    if not username.strip():
        raise ControlError("a user name is required (--user NAME)")
    user, created = User.objects.get_or_create(username=username)
    if created:
        user.set_unusable_password()  # tokens only; nobody logs in with a password
        user.save(update_fields=["password"])
    user.groups.remove(*Group.objects.filter(name__in=ROLES).exclude(name=role))
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    Token.objects.filter(user=user).delete()
    token = Token.objects.create(user=user)
    append_audit(
        actor=actor,
        action="token.create",
        subject=f"user {username}",
        details={"user": username, "role": role, "user_created": created},
    )
    return str(token.key)


@transaction.atomic
def revoke_token(*, username: str, actor: str) -> None:
    deleted, _ = Token.objects.filter(user__username=username).delete()
    if not deleted:
        raise ControlError(f"user {username!r} has no token", status=404)
    append_audit(
        actor=actor, action="token.revoke", subject=f"user {username}", details={"user": username}
    )
