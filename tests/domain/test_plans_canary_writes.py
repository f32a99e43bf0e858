"""`canary_writes`: writes join a canary only when the cohort key is the data owner's key, so
that every write to one record goes to one system (one writer per record)."""

from __future__ import annotations

import pytest

from tests.migration_plans.plan_files import FULL, GOOD, assert_located, load_one, refused, replaced


def test_it_is_off_unless_asked_for(tmp_path):
    assert load_one(tmp_path, GOOD).canary_writes is False
    assert load_one(tmp_path, GOOD + "canary_writes: false\n").canary_writes is False


def test_it_is_allowed_when_the_cohort_is_the_data_owner(tmp_path):
    plan = load_one(tmp_path, FULL)
    assert plan.canary_writes is True
    assert plan.cohort == plan.data_owner


def test_a_cohort_other_than_the_data_owner_is_refused_with_the_reason(tmp_path):
    text = replaced(FULL, "cohort: {key: path, name: id}", "cohort: {key: session}")
    path, error = refused(tmp_path, text)
    assert_located(
        error,
        path,
        10,
        "canary_writes",
        "needs the cohort key to be the data owner's key (cohort is session, "
        "data_owner is path 'id')",
    )
    assert "one writer per record" in error.message


def test_a_different_parameter_of_the_same_kind_is_refused_too(tmp_path):
    text = replaced(FULL, "/api/appointments/{id:int}\n    phase: canary", "/api/x/{id}/{n}")
    text = replaced(text, "data_owner: {key: path, name: id}", "data_owner: {key: path, name: n}")
    path, error = refused(tmp_path, text)
    assert_located(error, path, 10, "canary_writes", "data_owner is path 'n'")


def test_canary_writes_without_a_data_owner_is_refused(tmp_path):
    text = replaced(FULL, "data_owner: {key: path, name: id}\n", "")
    path, error = refused(tmp_path, text)
    assert_located(error, path, 9, "canary_writes", "needs data_owner")
    assert "one writer per record" in error.message


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("yes", "write true or false, not 'yes'"),
        ("'true'", "expected true or false, got str"),
        ("1", "expected true or false, got a number"),
    ],
)
def test_it_must_be_a_plain_boolean(tmp_path, value, complaint):
    path, error = refused(tmp_path, GOOD + f"canary_writes: {value}\n")
    assert_located(error, path, 12, "canary_writes", complaint)
