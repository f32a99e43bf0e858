"""Fuzzing de-identification: whatever JSON a shadow exchange holds, the sample is JSON-safe
and the same twice; an e-mail, IP address or date generated anywhere in free text is gone from
it; and two different values of an identifier field never share a surrogate.

Bounded in `make test` (the `ci` Hypothesis profile), long in `make fuzz`.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.deidentify import Deidentifier

pytestmark = pytest.mark.fuzz

auditor = Deidentifier(b"fuzzing-key-for-tests-only-00001", this_year=2026)
FIELDS = ["PAT_NM", "DOB", "MRN", "STATUS_CD", "value", "telecom", "x", "birthDate", "line", "age",
          "location", "COUNT", "note"]  # fmt: skip
field_names = st.sampled_from(FIELDS)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(field_names | st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
paths = st.lists(field_names, min_size=1, max_size=3).map(".".join)
filler = st.text(alphabet=" ,;()abc", max_size=5)


@given(paths, json_values)
def test_a_sample_is_json_safe_and_deterministic(path, value):
    sample = auditor.sample(path, value)
    assert json.loads(json.dumps(sample, allow_nan=False)) == sample
    assert auditor.sample(path, value) == sample


@given(st.emails() | st.ip_addresses().map(str), filler, filler)
def test_an_address_in_free_text_is_gone(found, before, after):
    assert found not in auditor.text("body.MSG", f"{before} {found} {after}")


@given(st.dates(min_value=date(1800, 1, 1), max_value=date(2200, 12, 31)), filler)
def test_a_date_in_free_text_is_gone_but_its_year_shown(day, before):
    for text in (day.isoformat(), day.strftime("%m/%d/%Y")):
        sample = auditor.text("body.MSG", f"{before} {text}.")
        assert text not in sample
        assert f"{day.year:04d}" in sample or "90y+" in sample


@given(
    st.sampled_from(["body.MRN", "body.birthDate", "body.PHONE", "header.location", "body.age"]),
    st.integers() | st.text(max_size=20),
    st.integers() | st.text(max_size=20),
)
def test_different_values_of_an_identifier_keep_different_surrogates(path, one, other):
    if one != other and not (path == "body.age" and _young(one) and _young(other)):
        assert auditor.sample(path, one) != auditor.sample(path, other)


def _young(age: object) -> bool:
    """Ages up to 89 are kept as they are: different, but not surrogates."""
    return isinstance(age, int) and age <= 89
