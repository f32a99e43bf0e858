"""Every patient access leaves an audit row; every update an outbox row, in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.identity import Identity
from extracted.core.legacy_db import legacy_engine
from extracted.core.write_guard import OwnershipGuard
from extracted.patients import services
from extracted.patients.models import AccessAudit, Outbox, Patient
from tests.extracted.identities import headers_for
from tests.extracted.patients.conftest import add_service_patient

pytestmark = pytest.mark.django_db(databases=["default", "patients"])

BODY = {"PHONE": "(312) 555-0199", "ADDR1": "1 OAK AVE", "CITY": "OAKTON", "ST": "IL",
        "ZIP": "60601"}  # fmt: skip


@pytest.fixture(autouse=True)
def patients():
    add_service_patient(17)
    add_service_patient(18, family_name="DOERING")


def audit_rows():
    return list(
        AccessAudit.objects.values_list("login", "role", "action", "record_id", "request_id")
    )


def test_a_search_audits_each_patient_it_showed(client):
    client.get("/api/patients?q=doe", headers=headers_for("scheduler", request_id="r1"))
    client.get("/api/patients?q=zz", headers=headers_for("scheduler", request_id="r2"))

    assert audit_rows() == [
        ("scheduler", "SCHED", "search", "17", "r1"),
        ("scheduler", "SCHED", "search", "18", "r1"),
        ("scheduler", "SCHED", "search", "", "r2"),  # a search that found nobody is audited too
    ]


def test_a_read_and_an_update_are_audited_with_the_request_id(client):
    client.get("/api/patients/17", headers=headers_for("clinician", request_id="r3"))
    client.put("/api/patients/17", data=BODY, content_type="application/json",
               headers=headers_for("clinician", request_id="r4"))  # fmt: skip

    assert audit_rows() == [
        ("clinician", "CLIN", "read", "17", "r3"),
        ("clinician", "CLIN", "update", "17", "r4"),
    ]
    assert list(Outbox.objects.values_list("aggregate", "key", "operation", "request_id")) == [
        ("patient", "17", "upsert", "r4")
    ]


def test_refused_and_failed_requests_write_neither_audit_nor_outbox(client):
    client.get("/api/patients/17", headers=headers_for("auditor"))
    client.put("/api/patients/17", data={**BODY, "ZIP": "x"}, content_type="application/json",
               headers=headers_for("clinician"))  # fmt: skip
    client.put("/api/patients/17", data=BODY, content_type="application/json",
               headers=headers_for("billing"))  # fmt: skip

    assert audit_rows() == []
    assert not Outbox.objects.exists()


def guard() -> OwnershipGuard:
    """The guard a request of the patients service gets (it owns the records here)."""
    return OwnershipGuard("patients", "PATIENT_MASTER", legacy_engine())


def test_the_audit_holds_no_phi():
    identity = Identity(1, "clinician", "CLIN", 2**31, "rid-x")
    services.update_patient(
        patient_id=17,
        changes={"city": "ELSEWHERE"},
        identity=identity,
        now=datetime.now(UTC),
        guard=guard(),
    )

    values = " ".join(str(v) for row in AccessAudit.objects.values_list() for v in row)
    for phi in ("DOE", "JANE", "912-34-5678", "ELSEWHERE", "1980"):
        assert phi not in values


def test_the_update_stamps_the_version_to_the_second():
    identity = Identity(1, "clinician", "CLIN", 2**31, "rid-x")
    now = datetime(2026, 11, 21, 9, 15, 30, 123456, tzinfo=UTC)

    services.update_patient(
        patient_id=17, changes={"city": "X"}, identity=identity, now=now, guard=guard()
    )

    assert Patient.objects.get(pk=17).source_updated_at == now.replace(microsecond=0)


def test_a_failing_update_rolls_back_its_outbox_and_audit_rows(monkeypatch):
    identity = Identity(1, "clinician", "CLIN", 2**31, "rid-x")

    def broken_audit(*args, **kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(services, "record_access", broken_audit)
    with pytest.raises(RuntimeError):
        services.update_patient(
            patient_id=17,
            changes={"city": "X"},
            identity=identity,
            now=datetime.now(UTC),
            guard=guard(),
        )

    assert Patient.objects.get(pk=17).city == "OAKTON"
    assert not Outbox.objects.exists()
