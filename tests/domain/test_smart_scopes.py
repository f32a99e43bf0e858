"""SMART v1 scopes: what each grants a machine client, failing closed on anything else."""

from __future__ import annotations

import pytest

from domain.smart_scopes import allows, needed, parse_scope


@pytest.mark.parametrize(
    ("granted", "resource", "write", "allowed"),
    [
        (["patient/Patient.read"], "Patient", False, True),
        (["patient/Patient.read"], "Patient", True, False),
        (["patient/Patient.read"], "Appointment", False, False),
        (["user/Appointment.write"], "Appointment", True, True),
        (["user/Appointment.write"], "Appointment", False, False),
        (["system/*.read"], "Appointment", False, True),
        (["system/*.read"], "Patient", True, False),
        (["system/*.*"], "Patient", True, True),
        (["system/Patient.*"], "Patient", True, True),
        ([], "Patient", False, False),
        (["openid", "Patient.read", "patient/patient.read"], "Patient", False, False),
        (["system/*.*"], "", False, False),  # a view that names no resource type
    ],
)
def test_a_scope_allows_exactly_its_resource_and_access(granted, resource, write, allowed):
    assert allows(granted, resource, write=write) is allowed


def test_scopes_read_back_as_written_and_junk_is_none():
    assert str(parse_scope("patient/Patient.read")) == "patient/Patient.read"
    assert parse_scope("patient/Patient.read extra") is None
    assert needed("Patient", write=True) == "system/Patient.write"
