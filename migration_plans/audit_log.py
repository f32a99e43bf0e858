"""The control plane's history: the generation row every writer locks, and the hash-chained
audit log (append, sign a digest of the head). Details never hold PHI or request bodies; the
chain's rules are `migration_plans.audit_chain` (pure)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from migration_plans import audit_chain
from migration_plans.control_errors import ControlError
from migration_plans.models import AuditDigest, AuditRecord, ControlGeneration

AUDIT_KEY_VAR: Final = "FICUS_AUDIT_KEY"


def lock_generation() -> ControlGeneration:
    """Serialize control-plane writers on the generation row (created if a test flushed it)."""
    row, _ = ControlGeneration.objects.select_for_update().get_or_create(
        id=1, defaults={"generation": 0, "changed_at": timezone.now()}
    )
    return row


def bump_generation(now: datetime) -> int:
    lock_generation()
    ControlGeneration.objects.filter(id=1).update(generation=F("generation") + 1, changed_at=now)
    return int(ControlGeneration.objects.values_list("generation", flat=True).get(id=1))


@transaction.atomic
def append_audit(
    *,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, Any],
    at: datetime | None = None,
) -> AuditRecord:
    """Append one record after the current head. Details: no PHI, no request bodies."""
    lock_generation()
    head = AuditRecord.objects.order_by("-seq").first()
    seq = head.seq + 1 if head else 1
    prev_hash = head.hash if head else audit_chain.GENESIS
    when = at or timezone.now()
    details = dict(details)
    text = audit_chain.canonical(details).decode("utf-8")
    digest = audit_chain.record_hash(
        seq=seq,
        at=when,
        actor=actor,
        action=action,
        subject=subject,
        details=details,
        prev_hash=prev_hash,
    )
    return AuditRecord.objects.create(
        seq=seq,
        at=when,
        actor=actor,
        action=action,
        subject=subject,
        details=text,
        prev_hash=prev_hash,
        hash=digest,
    )


def audit_key(environ: Mapping[str, str] | None = None) -> bytes:
    """FICUS_AUDIT_KEY as bytes, or a ControlError saying what is wrong with it."""
    raw = (environ if environ is not None else os.environ).get(AUDIT_KEY_VAR, "")
    if not raw:
        raise ControlError(f"{AUDIT_KEY_VAR} is not set: digests are signed with it")
    try:
        return audit_chain.check_key(raw.encode("utf-8"))
    except ValueError as e:
        raise ControlError(f"{AUDIT_KEY_VAR}: {e}") from e


@transaction.atomic
def sign_digest(*, actor: str, key: bytes) -> AuditDigest:
    """Sign the chain's current head, then record the signing itself in the chain."""
    lock_generation()
    head = AuditRecord.objects.order_by("-seq").first()
    if head is None:
        raise ControlError("the audit log is empty: there is no head to sign", status=409)
    now = timezone.now()
    signature = audit_chain.sign(key, seq=head.seq, head_hash=head.hash, at=now)
    digest = AuditDigest.objects.create(
        seq=head.seq,
        head_hash=head.hash,
        at=now,
        signature=signature,
        key_id=audit_chain.key_id(key),
    )
    append_audit(
        actor=actor,
        action="audit.digest",
        subject=f"digest {digest.id}",
        details={"digest": digest.id, "seq": head.seq, "key_id": digest.key_id},
        at=now,
    )
    return digest
