"""One table per service: unknown roles and undeclared actions fail loudly."""

from __future__ import annotations

import pytest

from extracted.core.permissions import RolePermissions


def test_it_answers_from_the_table():
    table = RolePermissions({"read": {"CLIN", "BILL"}, "write": {"CLIN"}})

    assert table.roles("read") == ("BILL", "CLIN")
    assert table.allows("BILL", "read")
    assert not table.allows("BILL", "write")
    assert table.actions() == ("read", "write")


def test_a_typo_in_a_role_is_refused_at_import_time():
    with pytest.raises(ValueError, match="CLINN"):
        RolePermissions({"read": {"CLINN"}})


def test_an_undeclared_action_is_an_error_not_a_silent_denial():
    with pytest.raises(KeyError, match="delete"):
        RolePermissions({"read": {"CLIN"}}).roles("delete")
