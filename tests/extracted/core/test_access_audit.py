"""record_access: one row per record, only the id and who asked; unknown actions refused."""

from __future__ import annotations

import pytest

from domain.identity import Identity
from extracted.appointments.models import AccessAudit
from extracted.core.access_audit import record_access, record_accesses

pytestmark = pytest.mark.django_db(databases=["default", "appointments"])

AUDITED = Identity(1, "clinician", "CLIN", 0, "rid-7")


def test_it_stores_who_what_and_the_request_id_only():
    record_access(AccessAudit, AUDITED, "read", "appointment", 42)
    record_accesses(AccessAudit, AUDITED, "search", "appointment", [1, 2, None])

    assert list(
        AccessAudit.objects.order_by("id").values_list("login", "role", "action", "record_id")
    ) == [
        ("clinician", "CLIN", "read", "42"),
        ("clinician", "CLIN", "search", "1"),
        ("clinician", "CLIN", "search", "2"),
        ("clinician", "CLIN", "search", ""),
    ]
    assert set(AccessAudit.objects.values_list("request_id", flat=True)) == {"rid-7"}


def test_an_unknown_action_is_refused():
    with pytest.raises(ValueError, match="peek"):
        record_access(AccessAudit, AUDITED, "peek", "appointment", 42)
