"""Unknown fields are refused at every level of a plan, named by their full path and line, so
a typo in a gate or a cohort never silently does nothing."""

from __future__ import annotations

from itertools import zip_longest

import pytest

from tests.migration_plans.plan_files import FULL, UNKNOWN_FIELDS, refused, replaced


@pytest.mark.parametrize(
    ("old", "new", "field"), UNKNOWN_FIELDS, ids=[f for *_, f in UNKNOWN_FIELDS]
)
def test_it_refuses_an_unknown_field_at_its_line(tmp_path, old, new, field):
    text = replaced(FULL, old, new)
    path, error = refused(tmp_path, text)
    # The unknown field sits on the first line that differs from the valid plan.
    line = next(
        n for n, (a, b) in enumerate(zip_longest(text.splitlines(), FULL.splitlines()), 1) if a != b
    )
    assert (error.file, error.line, error.field) == (str(path), line, field)
    assert error.message.startswith("unknown field (expected ")
