"""Diffy's noise rule over route tallies: a field legacy disagrees with itself about as often
as with the service is noise; a field only the service gets wrong is a real difference."""

from __future__ import annotations

import json

import pytest

from domain.comparison import MORE, Answer, CompareRules, differing_fields
from domain.noise import (
    MAX_SIGNATURES,
    NOT_COMPARED,
    ExchangeResult,
    RouteTally,
    Thresholds,
    Verdict,
    assess,
    exchange_result,
    gate_evidence,
)


def tally_of(
    compared: int, raw: dict[str, int], noise_compared: int = 0, noise: dict[str, int] | None = None
) -> RouteTally:
    """Exchanges differing in one field each, as many as asked; noise on the first ones."""
    tally = RouteTally()
    rows = [path for path, n in raw.items() for _ in range(n)]
    noise_rows = [path for path, n in (noise or {}).items() for _ in range(n)]
    for i in range(compared):
        differences = [rows[i]] if i < len(rows) else []
        second = ([noise_rows[i]] if i < len(noise_rows) else []) if i < noise_compared else None
        tally.add(differences, second)
    return tally


def verdicts(tally: RouteTally, **kwargs) -> dict[str, Verdict]:
    return {f.field: f.verdict for f in assess(tally, **kwargs).fields}


def test_a_timestamp_legacy_disagrees_with_itself_about_is_noise():
    tally = tally_of(1000, {"body.UPD_TS": 300}, noise_compared=100, noise={"body.UPD_TS": 29})
    assert verdicts(tally) == {"body.UPD_TS": Verdict.NOISE}
    assert assess(tally).real_diff_rate == 0


def test_a_field_only_the_service_gets_wrong_is_real():
    tally = tally_of(1000, {"body.name.family": 40}, noise_compared=100)
    result = assess(tally)
    assert verdicts(tally) == {"body.name.family": Verdict.REAL}
    assert result.raw_diff_rate == result.real_diff_rate == 0.04


def test_array_positions_are_counted_as_one_field():
    tally = RouteTally()
    tally.add(["body.items[3].code", "body.items[4].code"])
    tally.add(["body.items[id=9].code"])
    assert tally.raw == {"body.items[*].code": 2}


@pytest.mark.parametrize(
    ("raw", "noise", "expected"),
    [
        # relative = |r - n| / (r + n): 0.6 vs 0.4 is exactly 20 %, which is not above it.
        (600, 40, Verdict.NOISE),
        (601, 40, Verdict.REAL),
        # absolute = |r - n|: 3 in 10,000 is exactly 0.03 %, not above it.
        (3, 0, Verdict.NOISE),
        (4, 0, Verdict.REAL),
        # More often against legacy itself than against the service: never real.
        (100, 20, Verdict.NOISE),
    ],
)
def test_the_thresholds_are_strict_at_their_edges(raw, noise, expected):
    compared = 1000 if raw >= 100 else 10_000
    tally = tally_of(compared, {"body.x": raw}, noise_compared=100, noise={"body.x": noise})
    assert verdicts(tally) == {"body.x": expected}


def test_without_noise_samples_nothing_is_excused():
    assert verdicts(tally_of(100, {"body.UPD_TS": 100})) == {"body.UPD_TS": Verdict.REAL}


def test_the_plan_can_set_its_own_thresholds():
    tally = tally_of(10_000, {"body.x": 4})
    assert verdicts(tally, thresholds=Thresholds(absolute=0.1)) == {"body.x": Verdict.NOISE}
    rare = tally_of(10_000, {"body.x": 1})  # 0.01 %: below Diffy's absolute default
    assert verdicts(rare) == {"body.x": Verdict.NOISE}
    assert verdicts(rare, thresholds=Thresholds(absolute=0)) == {"body.x": Verdict.REAL}


def test_accepted_differences_are_counted_but_never_real():
    tally = tally_of(100, {"status": 10, "body.code": 5})
    result = assess(tally, accepted=frozenset({"status"}))
    assert {f.field: f.verdict for f in result.fields} == {
        "body.code": Verdict.REAL,
        "status": Verdict.ACCEPTED,
    }
    assert (result.real, result.differing) == (5, 15)


def test_an_exchange_is_real_when_any_of_its_fields_is():
    tally = RouteTally()
    for _ in range(50):
        tally.add(["body.UPD_TS", "body.code"], ["body.UPD_TS"])
    for _ in range(50):
        tally.add(["body.UPD_TS"], ["body.UPD_TS"])
    result = assess(tally)
    assert verdicts(tally) == {"body.code": Verdict.REAL, "body.UPD_TS": Verdict.NOISE}
    assert result.real_diff_rate == 0.5
    assert result.fields[0].field == "body.code"  # worst first
    assert [f.field for f in result.real_fields] == ["body.code"]
    assert [f.field for f in result.noise_fields] == ["body.UPD_TS"]


def test_tallies_merge_and_round_trip_through_json():
    one, two = tally_of(10, {"body.a": 3}, 2, {"body.a": 1}), tally_of(5, {"body.b": 1})
    one.merge(two)
    assert (one.compared, one.noise_compared, dict(one.raw)) == (15, 2, {"body.a": 3, "body.b": 1})
    again = RouteTally.from_dict(json.loads(json.dumps(one.as_dict())))
    assert again == one


def test_signatures_beyond_the_bound_count_as_real():
    tally = RouteTally()
    for i in range(MAX_SIGNATURES + 10):
        tally.add([f"body.f{i}"], [f"body.f{i}"])
    assert tally.overflow == 10
    # Every field is pure noise, but the exchanges whose signature was not kept stay real.
    assert assess(tally).real == 10


def test_a_bad_tally_is_refused():
    with pytest.raises(ValueError, match="compared"):
        RouteTally.from_dict({**RouteTally().as_dict(), "compared": -1})
    with pytest.raises(ValueError, match="not a route tally"):
        RouteTally.from_dict({})


def chart_answer(clock: int, name: str) -> Answer:
    body = {
        "PAT_ID": 7,
        "PAT_NM": name,
        "generated_at": f"2026-12-08T00:{clock // 60 % 60:02}:{clock % 60:02}",
    }
    return Answer(200, (("Content-Type", "application/json"),), json.dumps(body).encode())


def test_a_shadowed_chart_header_separates_the_clock_from_the_formatting_bug():
    """Legacy stamps each answer with its clock; the service upper-cases one name in ten."""
    rules, tally = CompareRules(), RouteTally()
    for i in range(400):
        legacy = chart_answer(3 * i, "Okafor, Ada")
        service = chart_answer(3 * i + 1, "OKAFOR, ADA" if i % 10 == 0 else "Okafor, Ada")
        differences = differing_fields(legacy, service, rules, write=False)
        noise = None
        if i % 5 == 0:  # the sampled share asked of legacy a second time
            noise = differing_fields(
                legacy, chart_answer(3 * i + 2, "Okafor, Ada"), rules, write=False
            )
        tally.add(differences, noise)
    result = assess(tally)
    assert {f.field: f.verdict for f in result.fields} == {
        "body.PAT_NM": Verdict.REAL,
        "body.generated_at": Verdict.NOISE,
    }
    assert result.raw_diff_rate == 1.0
    assert result.real_diff_rate == 0.1


def test_the_gates_evidence_judges_each_route_on_its_own():
    reads = assess(tally_of(900, {"body.PAT_NM": 9}, noise_compared=90))
    writes = assess(tally_of(100, {"status": 1}), accepted=frozenset({"status"}))
    both = gate_evidence([("GET /a", reads), ("POST /a", writes)])
    assert (both.compared, both.diff_rate) == (100, 0.01)  # the weakest count, the worst rate
    assert (both.weakest(), both.worst()) == ("POST /a", "GET /a")
    assert both.as_dict()["POST /a"] == {"compared": 100, "diff_rate": 0.0}


def test_a_route_never_compared_makes_the_diff_rate_unavailable():
    reads = assess(tally_of(900, {}))
    unshadowed = gate_evidence([("GET /a", reads), ("POST /a", assess(RouteTally()))])
    assert (unshadowed.compared, unshadowed.diff_rate) == (0, None)
    assert unshadowed.uncompared == ("POST /a",)
    assert (gate_evidence([]).compared, gate_evidence([]).diff_rate) == (0, None)


def test_an_assessment_is_json_safe():
    result = assess(tally_of(100, {"body.a": 5}))
    again = json.loads(json.dumps(result.as_dict()))
    assert again["real_diff_rate"] == 0.05
    assert again["fields"][0] == {
        "field": "body.a",
        "verdict": "real",
        "raw": 5,
        "noise": 0,
        "raw_rate": 0.05,
        "noise_rate": 0.0,
        "relative_percent": 100.0,
        "absolute_percent": 5.0,
    }


def test_one_exchange_without_differences_is_a_match():
    assert exchange_result([], None) is ExchangeResult.MATCH
    assert exchange_result([], ["body.served_at"]) is ExchangeResult.MATCH


def test_one_exchange_is_noise_only_where_legacy_differed_from_itself_too():
    assert exchange_result(["body.served_at"], ["body.served_at"]) is ExchangeResult.NOISE
    # By field: an array element's position does not matter.
    assert exchange_result(["body.items[3].at"], ["body.items[1].at"]) is ExchangeResult.NOISE
    # One unexplained field makes the exchange a difference.
    assert (
        exchange_result(["body.served_at", "body.name"], ["body.served_at"])
        is ExchangeResult.DIFFERENCE
    )
    assert exchange_result(["body.name"], None) is ExchangeResult.DIFFERENCE


def test_an_accepted_difference_explains_an_exchange():
    accepted = frozenset({"body.legacy_flag"})
    assert exchange_result(["body.legacy_flag"], None, accepted) is ExchangeResult.NOISE
    assert exchange_result(["body.name"], None, accepted) is ExchangeResult.DIFFERENCE


def test_what_was_cut_off_is_never_explained():
    assert exchange_result([MORE], [MORE]) is ExchangeResult.DIFFERENCE


def test_a_whole_body_or_a_body_not_compared_is_never_excused_by_noise():
    tally = RouteTally()
    for _ in range(100):
        tally.add(["body"], ["body"])  # legacy's page differs from itself every time
    tally.add([NOT_COMPARED], [NOT_COMPARED])
    assessment = assess(tally)
    assert assessment.real_diff_rate == 1.0
    assert exchange_result(["body"], ["body"]) is ExchangeResult.DIFFERENCE
    assert exchange_result([NOT_COMPARED], [], frozenset({"**"})) is ExchangeResult.DIFFERENCE
    # An explicit accepted entry excuses the whole body; nothing excuses a body never read.
    assert assess(tally, accepted=frozenset({"body"})).real == 1
