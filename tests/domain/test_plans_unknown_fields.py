"""Unknown fields are refused at every level of a plan, named by their full path and line, so
a typo in a gate or a cohort never silently does nothing."""

from __future__ import annotations

from itertools import zip_longest

import pytest

from tests.migration_plans.plan_files import FULL, GOOD, UNKNOWN_FIELDS, refused, replaced


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


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('"": x', '""'),
        ("? [a, b]\n: x", "(a list as a key)"),
        ('"bad key\\t": x', '"bad key\\t"'),
    ],
)
def test_a_key_that_is_no_field_name_is_still_named(tmp_path, line, field):
    """An empty, spaced or non-text key is shown quoted or described, so the message still
    names a field an operator can find (the fuzzer found `appointments.yaml:1: : unknown`)."""
    path, error = refused(tmp_path, GOOD + line + "\n")
    assert (error.file, error.line, error.field) == (str(path), GOOD.count("\n") + 1, field)
    assert error.message.startswith("unknown field")
    assert str(error).startswith(f"{path}:{error.line}: {field}: ")
