"""`manage.py audit verify|digest|export`: check, sign and hand over the audit chain.

`verify` exits 0 when every link holds (and every digest matches; signatures too when
FICUS_AUDIT_KEY is set), else names the first broken link and exits 1. `digest` signs the head
with FICUS_AUDIT_KEY (≥ 32 bytes, from the environment only) and records that it did. `export`
writes every record, with its hashes, as CSV or JSON for an auditor's own tools.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from migration_plans import audit_log, control_errors, selectors
from migration_plans.management.commands.plan import default_actor

FIELDS = ("seq", "at", "actor", "action", "subject", "details", "prev_hash", "hash")


class Command(BaseCommand):
    help = "Work with the hash-chained audit log. Actions: verify, digest, export."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        actions.add_parser(
            "verify", help="check every link and digest; name the first broken one (exit 1)"
        )
        digest = actions.add_parser("digest", help="sign the chain's head with FICUS_AUDIT_KEY")
        digest.add_argument("--actor", default=default_actor(), help="who signs (default: $USER)")
        export = actions.add_parser("export", help="write every record as CSV or JSON")
        export.add_argument("--format", choices=("csv", "json"), default="json")
        export.add_argument("--output", metavar="FILE", help="file to write (default: stdout)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["action"] == "verify":
                self.verify()
            elif options["action"] == "digest":
                self.digest(options["actor"] or "")
            else:
                self.export(options["format"], options["output"])
        except control_errors.ControlError as e:
            raise CommandError(e.reason) from e

    def verify(self) -> None:
        key = audit_log.audit_key() if os.environ.get(audit_log.AUDIT_KEY_VAR) else None
        count, broken = selectors.verify_audit(key)
        if broken is not None:
            raise CommandError(f"audit chain broken at record {broken.seq}: {broken.message}")
        digests = len(selectors.chain_digests())
        signatures = "checked" if key else f"not checked ({audit_log.AUDIT_KEY_VAR} unset)"
        self.stdout.write(
            f"audit chain OK: {count} record(s), {digests} digest(s), signatures {signatures}"
        )

    def digest(self, actor: str) -> None:
        if not actor.strip():
            raise CommandError("an actor is required (--actor NAME)")
        digest = audit_log.sign_digest(actor=actor, key=audit_log.audit_key())
        self.stdout.write(
            f"digest {digest.id}: record {digest.seq} head {digest.head_hash} signed with key "
            f"{digest.key_id} at {digest.at:%Y-%m-%d %H:%M:%S} UTC"
        )

    def export(self, fmt: str, output: str | None) -> None:
        rows = [selectors.record_as_dict(r) for r in selectors.audit_records()]
        if fmt == "json":
            text = json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
        else:
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "details": json.dumps(row["details"], sort_keys=True)})
            text = buffer.getvalue()
        if output is None or output == "-":
            self.stdout.write(text, ending="")
            return
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as e:
            raise CommandError(f"cannot write {output}: {e.strerror or e}") from e
        self.stderr.write(f"{len(rows)} record(s) written to {output}")
