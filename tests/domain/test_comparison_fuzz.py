"""Fuzzing answer comparison and its tallies: whatever JSON two answers carry, an answer never
differs from itself or from its members reordered, one changed value is named by its path and
nothing else, the two sides differ in the same paths whichever is legacy, and tallies add up
the same in any order.

Bounded in `make test` (the `ci` Hypothesis profile), long in `make fuzz`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.compare_paths import field_of, matches
from domain.comparison import Answer, CompareRules, differing_fields
from domain.noise import RouteTally, assess

pytestmark = pytest.mark.fuzz

JSON_TYPE = (("Content-Type", "application/json"),)
names = st.text(st.characters(codec="utf-8"), max_size=6)
scalars = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(names, inner, max_size=4),
    max_leaves=30,
)
RULES = CompareRules()


def answer(value: Any) -> Answer:
    return Answer(200, JSON_TYPE, json.dumps(value).encode())


def compared(a: Any, b: Any) -> dict[str, tuple[object, object]]:
    return differing_fields(answer(a), answer(b), RULES, write=False)


def reordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: reordered(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [reordered(v) for v in value]
    return value


@given(documents)
def test_an_answer_never_differs_from_itself_or_its_members_reordered(doc):
    assert compared(doc, doc) == {}
    assert compared(doc, reordered(doc)) == {}


@given(documents, documents)
def test_both_sides_differ_in_the_same_paths(a, b):
    forward, backward = compared(a, b), compared(b, a)
    assert forward.keys() == backward.keys()
    assert all(backward[p] == (y, x) for p, (x, y) in forward.items())


@given(
    st.dictionaries(st.from_regex(r"[a-z]{1,5}", fullmatch=True), scalars, min_size=1), st.data()
)
def test_one_changed_value_is_named_by_its_path_alone(doc, data):
    key = data.draw(st.sampled_from(sorted(doc)))
    changed = {**doc, key: ["changed"]}
    assert list(compared({"chart": doc}, {"chart": changed})) == [f"body.chart.{key}"]


@given(st.text(max_size=40), st.text(max_size=40))
def test_text_bodies_never_break_the_comparison(a, b):
    text = (("Content-Type", "text/plain"),)
    found = differing_fields(Answer(200, text, a.encode()), Answer(200, text, b.encode()), RULES,
                             write=False)  # fmt: skip
    assert set(found) <= {"body"}


@given(st.binary(max_size=60))
def test_bytes_that_claim_to_be_json_never_break_the_comparison(body):
    found = differing_fields(Answer(200, JSON_TYPE, body), answer({"a": 1}), RULES, write=False)
    assert all(path == "body" or path.startswith("body.") for path in found)


paths = st.lists(st.sampled_from(["status", "body.a", "body.items[3].b", "body.items[id=1].b"]),
                 max_size=3)  # fmt: skip
exchanges = st.lists(st.tuples(paths, st.none() | paths), max_size=30)


@given(exchanges, exchanges)
def test_tallies_add_up_the_same_in_any_order(first, second):
    def tally(rows: list[tuple[list[str], list[str] | None]]) -> RouteTally:
        out = RouteTally()
        for raw, noise in rows:
            out.add(raw, noise)
        return out

    one, two = tally(first), tally(second)
    one.merge(two)
    assert one == tally(first + second)
    assert assess(one) == assess(RouteTally.from_dict(json.loads(json.dumps(one.as_dict()))))


@given(documents)
def test_every_difference_path_matches_its_own_field(doc):
    for path in compared(doc, {"x": doc}):
        assert matches(field_of(path), path)
