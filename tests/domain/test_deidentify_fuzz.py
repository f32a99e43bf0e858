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
        assert text not in auditor.text("body.MSG", f"{before} {text}.")  # prose: whole
        sample = auditor.text("body.x", text)  # a date alone keeps its year
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


SHAPED = ["adaeze.q@example.org", "987-65-4320", "(555) 555-0142", "M0004217", "1961-07-14",
          "203.0.113.77", "https://portal.example.org/charts/M0004217", "2001:db8::7"]  # fmt: skip
carriers = st.recursive(
    st.sampled_from(SHAPED) | st.tuples(filler, st.sampled_from(SHAPED)).map(" ".join),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["x", "STATUS_CD", "MSG", "value", "use"]), children)
    ),
    max_leaves=8,
)


@given(carriers)
def test_a_shaped_identifier_is_gone_wherever_it_is_nested(value):
    stored = json.dumps(auditor.sample("body", value))
    for identifier in SHAPED:
        assert identifier not in stored
