"""`audit verify` on the real tables: SQL edits, deletes, inserts and reorders are named."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from migration_plans import audit_chain, audit_log, selectors
from migration_plans.models import AuditRecord

pytestmark = pytest.mark.django_db(databases=["default"])


@pytest.fixture
def chain():
    for n in range(1, 6):
        audit_log.append_audit(
            actor="operator-olga",
            action="route.advance",
            subject="appointments",
            details={"reason": f"step {n}", "ratio": 0.1 * n},
        )


def sql(statement, *params):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def broken():
    return selectors.verify_audit(None)[1]


def test_it_accepts_the_chain_services_write(chain):
    assert selectors.verify_audit(None) == (5, None)


def test_it_names_an_edited_record(chain):
    sql("UPDATE ficus_audit_record SET actor = %s WHERE seq = 3", "someone-else")
    assert (broken().kind, broken().seq) == ("edited", 3)


def test_it_names_a_deleted_record(chain):
    sql("DELETE FROM ficus_audit_record WHERE seq = 2")
    assert (broken().kind, broken().seq) == ("deleted", 3)


def test_it_names_an_inserted_record(chain):
    second = AuditRecord.objects.get(seq=2)
    sql("UPDATE ficus_audit_record SET seq = seq + 100 WHERE seq > 2")
    sql("UPDATE ficus_audit_record SET seq = seq - 99 WHERE seq > 100")
    details = {"reason": "backdated approval"}
    forged = audit_chain.record_hash(
        seq=3,
        at=second.at,
        actor="olga",
        action="route.advance",
        subject="appointments",
        details=details,
        prev_hash=second.hash,
    )
    AuditRecord.objects.create(
        seq=3,
        at=second.at,
        actor="olga",
        action="route.advance",
        subject="appointments",
        details=json.dumps(details),
        prev_hash=second.hash,
        hash=forged,
    )
    assert (broken().kind, broken().seq) == ("inserted", 3)


def test_it_names_reordered_records(chain):
    sql("UPDATE ficus_audit_record SET seq = 100 WHERE seq = 2")
    sql("UPDATE ficus_audit_record SET seq = 2 WHERE seq = 3")
    sql("UPDATE ficus_audit_record SET seq = 3 WHERE seq = 100")
    assert broken().kind == "reordered"


def test_it_catches_truncation_with_a_signed_digest(chain):
    key = b"a-test-audit-key-of-at-least-32-bytes"
    digest = audit_log.sign_digest(actor="auditor-ana", key=key)
    assert digest.seq == 5
    assert selectors.verify_audit(key) == (6, None)  # the digest's own record is appended
    sql("DELETE FROM ficus_audit_record WHERE seq >= 5")
    assert broken().kind == "truncated"
