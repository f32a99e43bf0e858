"""`manage.py audit verify|digest|export`: exit codes, the first broken link, signed digests."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from migration_plans import audit_log
from migration_plans.models import AuditDigest

pytestmark = pytest.mark.django_db(databases=["default"])
KEY = "an-audit-key-for-tests-only-32-bytes-long"


@pytest.fixture
def records():
    for n in range(1, 4):
        audit_log.append_audit(
            actor="operator-olga",
            action="route.advance",
            subject="appointments",
            details={"reason": f"step {n}"},
        )


def audit(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("audit", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_verifies_an_intact_chain(records, monkeypatch):
    monkeypatch.delenv("FICUS_AUDIT_KEY", raising=False)
    out, _ = audit("verify")
    assert out.strip() == (
        "audit chain OK: 3 record(s), 0 digest(s), signatures not checked (FICUS_AUDIT_KEY unset)"
    )


def test_it_names_the_first_broken_link_and_exits_1(records):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE ficus_audit_record SET subject = 'patients' WHERE seq = 2")
    with pytest.raises(CommandError, match="broken at record 2: record 2 was edited") as e:
        audit("verify")
    assert e.value.returncode == 1


def test_it_signs_the_head_and_records_the_signing(records, monkeypatch):
    monkeypatch.setenv("FICUS_AUDIT_KEY", KEY)
    out, _ = audit("digest", "--actor", "auditor-ana")
    digest = AuditDigest.objects.get()
    assert out.startswith(f"digest {digest.id}: record 3 head {digest.head_hash} signed")
    verified, _ = audit("verify")
    assert "4 record(s), 1 digest(s), signatures checked" in verified
    monkeypatch.setenv("FICUS_AUDIT_KEY", KEY.replace("a", "b"))
    with pytest.raises(CommandError, match="bad signature"):
        audit("verify")


@pytest.mark.parametrize(
    ("value", "message"), [("", "FICUS_AUDIT_KEY is not set"), ("short", "at least 32 bytes")]
)
def test_it_refuses_to_sign_without_a_good_key(records, monkeypatch, value, message):
    monkeypatch.setenv("FICUS_AUDIT_KEY", value)
    with pytest.raises(CommandError, match=message):
        audit("digest")
    assert not AuditDigest.objects.exists()


def test_it_exports_json_and_csv(records, tmp_path):
    out, _ = audit("export", "--format", "json")
    exported = json.loads(out)
    assert [r["seq"] for r in exported] == [1, 2, 3]
    assert exported[1]["prev_hash"] == exported[0]["hash"]
    assert exported[2]["details"] == {"reason": "step 3"}
    target = tmp_path / "audit.csv"
    _, err = audit("export", "--format", "csv", "--output", str(target))
    assert err.strip() == f"3 record(s) written to {target}"
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert rows[0]["action"] == "route.advance"
    assert json.loads(rows[0]["details"]) == {"reason": "step 1"}


def test_it_says_why_it_cannot_write_the_export(records, tmp_path):
    with pytest.raises(CommandError, match="cannot write"):
        audit("export", "--output", str(tmp_path / "missing" / "audit.json"))
