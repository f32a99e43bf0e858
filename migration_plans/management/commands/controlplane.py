"""`manage.py controlplane token create|revoke|list`: who may use the control-plane API;
`manage.py controlplane oauth-client create|revoke`: machine clients of /v2 and FHIR.

Tokens are DRF auth tokens; roles are Django groups (`operator` may change state, `auditor`
may only read). Creating or revoking a token is an admin action, so it is appended to the audit
chain (who did it, for whom, which role; never the token itself). The key is printed once.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rest_framework.authtoken.models import Token

from migration_plans import control_errors, oauth_clients, tokens
from migration_plans.management.commands.plan import default_actor, table


class Command(BaseCommand):
    help = (
        "Administer the control plane. Actions: token create|revoke|list, "
        "oauth-client create|revoke."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        areas = parser.add_subparsers(dest="area", metavar="AREA", required=True)
        token = areas.add_parser("token", help="API tokens for operators and auditors")
        actions = token.add_subparsers(dest="action", metavar="ACTION", required=True)
        create = actions.add_parser("create", help="create (or replace) a user's token")
        create.add_argument("--user", required=True, metavar="NAME")
        create.add_argument("--role", required=True, choices=tokens.ROLES)
        revoke = actions.add_parser("revoke", help="delete a user's token")
        revoke.add_argument("--user", required=True, metavar="NAME")
        actions.add_parser("list", help="list users with a token and their role")
        client = areas.add_parser("oauth-client", help="OAuth2 machine clients (SMART scopes)")
        client_actions = client.add_subparsers(dest="action", metavar="ACTION", required=True)
        register = client_actions.add_parser("create", help="register a client-credentials client")
        register.add_argument("--name", required=True, metavar="NAME")
        register.add_argument(
            "--scope",
            action="append",
            required=True,
            metavar="SCOPE",
            help="a SMART v1 scope it may get, e.g. system/Patient.read (repeat for more)",
        )
        drop = client_actions.add_parser("revoke", help="delete a client and all its tokens")
        drop.add_argument("--name", required=True, metavar="NAME")
        for sub in (create, revoke, register, drop):
            sub.add_argument("--actor", default=default_actor(), help="who acts (default: $USER)")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if options["area"] == "oauth-client":
                self.oauth_client(action, options)
            elif action == "create":
                key = tokens.create_token(
                    username=options["user"], role=options["role"], actor=options["actor"] or ""
                )
                self.stdout.write(f"token for {options['user']} ({options['role']}): {key}")
                self.stdout.write("It is shown once; give it to that person only.")
            elif action == "revoke":
                tokens.revoke_token(username=options["user"], actor=options["actor"] or "")
                self.stdout.write(f"token of {options['user']} revoked")
            else:
                self.list_tokens()
        except control_errors.ControlError as e:
            raise CommandError(e.reason) from e

    def oauth_client(self, action: str, options: dict[str, Any]) -> None:
        name, actor = options["name"], options["actor"] or ""
        if action == "create":
            client_id, secret = oauth_clients.create_client(
                name=name, scopes=options["scope"], actor=actor
            )
            self.stdout.write(f"client {name}: client_id {client_id}")
            self.stdout.write(f"client_secret {secret}")
            self.stdout.write("The secret is shown once; it is stored hashed.")
        else:
            tokens_held = oauth_clients.revoke_client(name=name, actor=actor)
            self.stdout.write(f"client {name} revoked with its {tokens_held} token(s)")

    def list_tokens(self) -> None:
        rows = []
        for token in Token.objects.select_related("user").order_by("user__username"):
            user: User = token.user
            roles = ",".join(sorted(g.name for g in user.groups.all() if g.name in tokens.ROLES))
            rows.append((user.username, roles or "(none)", f"{token.created:%Y-%m-%d %H:%M} UTC"))
        self.stdout.write(table(("USER", "ROLE", "CREATED"), rows))
