"""Comparing legacy's answer with the service's: each difference named by its flattened path,
and nothing else. The clinician's chart answers here are synthetic."""

from __future__ import annotations

import json
from typing import Any

from domain.comparison import (
    ABSENT,
    ARRAY,
    MAX_DEPTH,
    MAX_DIFFERENCES,
    MAX_NODES,
    MORE,
    OBJECT,
    Answer,
    CompareRules,
    differing_fields,
)

JSON = (("Content-Type", "application/json"),)
RULES = CompareRules()


def answer(body: object, *, status: int = 200, headers=JSON) -> Answer:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Answer(status, tuple(headers), data)


def diff(legacy: object, other: object, rules: CompareRules = RULES, *, write: bool = False):
    return differing_fields(answer(legacy), answer(other), rules, write=write)


CHART: dict[str, Any] = {
    "PAT_ID": 7,
    "name": {"family": "Okafor", "given": ["Ada"]},
    "items": [{"id": 1, "code": "A1"}, {"id": 2, "code": "B2"}],
}


def test_equal_answers_have_no_difference():
    assert diff(CHART, json.loads(json.dumps(CHART))) == {}


def test_the_order_of_members_is_no_difference():
    reordered = dict(reversed(list(CHART.items())))
    assert diff(CHART, reordered) == {}


def test_a_planted_formatting_difference_is_named_by_its_path():
    other = json.loads(json.dumps(CHART))
    other["items"][1]["code"] = "b2"
    assert diff(CHART, other) == {"body.items[1].code": ("B2", "b2")}


def test_nested_members_are_named_by_dotted_path():
    other = {**CHART, "name": {"family": "OKAFOR", "given": ["Ada"]}}
    assert diff(CHART, other) == {"body.name.family": ("Okafor", "OKAFOR")}


def test_arrays_by_key_do_not_care_about_order():
    rules = CompareRules(array_keys={"body.items": "id"})
    other = {**CHART, "items": list(reversed(CHART["items"]))}
    assert diff(CHART, other) != {}  # by position they differ
    assert diff(CHART, other, rules) == {}


def test_a_keyed_difference_is_named_by_the_key():
    rules = CompareRules(array_keys={"body.items": "id"})
    other = {**CHART, "items": [{"id": 2, "code": "B2"}, {"id": 1, "code": "A9"}]}
    assert diff(CHART, other, rules) == {"body.items[id=1].code": ("A1", "A9")}


def test_missing_and_present_is_a_difference_and_hides_what_is_below():
    other = {k: v for k, v in CHART.items() if k != "name"}
    assert diff(CHART, other) == {"body.name": (OBJECT, ABSENT)}


def test_a_type_change_is_a_difference():
    assert diff({"n": 1}, {"n": "1"}) == {"body.n": (1, "1")}
    assert diff({"n": 1}, {"n": 1.0}) == {"body.n": (1, 1.0)}
    assert diff({"n": 1}, {"n": True}) == {"body.n": (1, True)}
    assert diff({"n": []}, {"n": {}}) == {"body.n": (ARRAY, OBJECT)}


def test_status_and_declared_headers_are_compared():
    legacy = answer({}, headers=(("Content-Type", "application/json"), ("ETag", '"1"')))
    other = answer({}, status=201, headers=(("content-type", "Application/JSON ; charset=utf-8"),))
    rules = CompareRules(headers=frozenset({"content-type", "etag"}))
    assert differing_fields(legacy, other, rules, write=False) == {
        "status": (200, 201),
        "header.content-type": ("application/json", "application/json;charset=utf-8"),
        "header.etag": ('"1"', ABSENT),
    }


def test_volatile_paths_are_never_compared():
    rules = CompareRules(ignored=frozenset({"body.**.UPD_TS"}))
    legacy = {"UPD_TS": "20261208001100", "APPTS": [{"UPD_TS": "1", "ID": 1}]}
    other = {"UPD_TS": "20261208001109", "APPTS": [{"UPD_TS": "2", "ID": 1}]}
    assert diff(legacy, other, rules) == {}


def test_in_writes_generated_values_are_compared_by_kind():
    rules = CompareRules(generated=frozenset({"body.id", "body.created"}))
    legacy = {"id": 1041, "created": "2026-12-08T00:11:02", "code": "A1"}
    service = {"id": 1042, "created": "2026-12-08T09:40:57", "code": "A1"}
    assert diff(legacy, service, rules, write=True) == {}
    # In a read the same values are a difference; and in a write a new kind still is.
    assert set(diff(legacy, service, rules)) == {"body.id", "body.created"}
    wrong_kind = {**service, "id": "1042", "created": "08/12/2026 09:40"}
    assert set(diff(legacy, wrong_kind, rules, write=True)) == {"body.id", "body.created"}


def test_non_json_bodies_compare_by_normalised_bytes():
    text = (("Content-Type", "text/plain"),)
    legacy = Answer(200, text, b"OK\r\nDONE  \r\n\r\n")
    assert differing_fields(legacy, Answer(200, text, b"OK\nDONE\n"), RULES, write=False) == {}
    changed = Answer(200, text, b"OK\nDONE!\n")
    found = differing_fields(legacy, changed, RULES, write=False)
    assert list(found) == ["body"]
    assert all("line 2 " in str(side) for side in found["body"])


def test_a_text_body_difference_names_the_line_never_its_text():
    """An HTML page or a log line is free text: the auditor learns where, never what."""
    html = (("Content-Type", "text/html"),)
    legacy = Answer(200, html, b"<table>\n<td>SMITH, JANE</td>\n</table>")
    service = Answer(200, html, b"<table>\n<td>Smith, Jane</td>\n</table>\nextra")
    shorter = Answer(200, html, b"<table>")
    for other in (service, shorter):
        found = differing_fields(legacy, other, RULES, write=False)
        assert list(found) == ["body"]
        shown = " ".join(map(str, found["body"]))
        for text in ("SMITH", "Smith", "table"):
            assert text not in shown


def test_json_against_not_json_is_one_body_difference():
    legacy = answer({"a": 1})
    broken = Answer(200, JSON, b"{not json")
    found = differing_fields(legacy, broken, RULES, write=False)
    assert list(found) == ["body"]


def test_a_body_too_deep_is_compared_whole():
    deep: object = "leaf"
    for _ in range(MAX_DEPTH + 5):
        deep = {"a": deep}
    assert diff(deep, deep) == {}
    other = json.loads(json.dumps(deep).replace('"leaf"', '"LEAF"'))
    assert list(diff(deep, other)) == ["body"]


def test_a_body_too_large_is_compared_whole():
    big = {"rows": list(range(MAX_NODES + 1))}
    other = {"rows": [*range(MAX_NODES), -1]}
    assert list(diff(big, other)) == ["body"]


def test_many_differences_are_capped_and_counted():
    found = diff({"rows": list(range(500))}, {"rows": [-1] * 500})
    assert len(found) == MAX_DIFFERENCES
    assert found[MORE] == (500 - MAX_DIFFERENCES + 1,) * 2


def test_json_nested_past_the_parsers_limit_is_compared_as_bytes():
    deep = Answer(200, JSON, b"[" * 100_000 + b"]" * 100_000)
    assert differing_fields(deep, deep, RULES, write=False) == {}
    other = Answer(200, JSON, b"[" * 100_000 + b"1" + b"]" * 100_000)
    assert list(differing_fields(deep, other, RULES, write=False)) == ["body"]


def test_a_header_pattern_may_be_ignored():
    legacy = answer({}, headers=(*JSON, ("ETag", '"1"')))
    other = answer({}, headers=(*JSON, ("ETag", '"2"')))
    rules = CompareRules(headers=frozenset({"content-type", "etag"}))
    assert differing_fields(legacy, other, rules, write=False) == {"header.etag": ('"1"', '"2"')}
    quiet = CompareRules(headers=rules.headers, ignored=frozenset({"header.etag"}))
    assert differing_fields(legacy, other, quiet, write=False) == {}


def test_in_writes_a_generated_header_is_compared_by_kind():
    rules = CompareRules(
        headers=frozenset({"content-type", "location"}), generated=frozenset({"header.location"})
    )
    legacy = answer({}, status=201, headers=(*JSON, ("Location", "/api/appointments/1041")))
    service = answer({}, status=201, headers=(*JSON, ("Location", "/api/appointments/1042")))
    assert differing_fields(legacy, service, rules, write=True) == {}
    assert list(differing_fields(legacy, service, rules, write=False)) == ["header.location"]
