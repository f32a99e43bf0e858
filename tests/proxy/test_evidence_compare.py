"""One exchange compared and counted: real differences, noise, failed copies, large bodies,
and samples that are de-identified before anything keeps them."""

from __future__ import annotations

import gzip
import json

from domain.comparison import CompareRules
from domain.deidentify import Deidentifier
from domain.noise import NOT_COMPARED, ExchangeResult, assess
from domain.plan_model import CompareSettings
from proxy.evidence_compare import FeatureCompare, compare_exchange
from proxy.evidence_store import EvidenceStore
from proxy.shadow_compare import Exchange, Reply
from tests.proxy.evidence_support import JSON, KEY, exchange, reply, settings

PATIENT = {"id": 7, "name": "Jane Testperson", "mrn": "MRN0042", "ward": "4B"}


def store():
    return EvidenceStore(worker="w1", clock=lambda: 1_000_000.0)


def counted(evidence):
    (tally,) = evidence._tallies.values()
    return tally


def test_a_field_the_service_answers_differently_is_counted_and_sampled_de_identified():
    evidence = store()
    changed = {**PATIENT, "name": "Jane Otherperson"}
    ex = exchange(reply(PATIENT), reply(changed))
    result = compare_exchange(ex, settings(), evidence, Deidentifier(KEY), max_body_bytes=10_000)
    assert result is ExchangeResult.DIFFERENCE
    assessment = assess(counted(evidence))
    assert [f.field for f in assessment.fields] == ["body.name"]
    (sample,) = evidence._samples
    assert (sample.field, sample.kind) == ("body.name", "real")
    assert "Jane" not in sample.legacy_value + sample.other_value
    assert json.loads(sample.legacy_value).startswith("Name-")


def test_an_identical_service_has_no_difference_and_no_sample():
    evidence = store()
    result = compare_exchange(
        exchange(reply(PATIENT), reply(PATIENT)), settings(), evidence, None, max_body_bytes=10_000
    )
    assert result is ExchangeResult.MATCH
    assessment = assess(counted(evidence))
    assert (assessment.compared, assessment.real, assessment.fields) == (1, 0, ())
    assert evidence._samples == []


def test_legacy_asked_twice_counts_what_it_differs_from_itself_in_as_noise():
    evidence = store()
    for n in range(20):
        first = reply({**PATIENT, "served_at": f"12:00:{n:02d}"})
        again = reply({**PATIENT, "served_at": f"12:01:{n:02d}"})
        service = reply({**PATIENT, "served_at": f"12:02:{n:02d}"})
        result = compare_exchange(
            exchange(first, service, again), settings(), evidence, None, max_body_bytes=10_000
        )
        # Legacy differed from itself in the very field: this exchange's difference is noise.
        assert result is ExchangeResult.NOISE
    assessment = assess(counted(evidence))
    assert assessment.noise_compared == 20
    assert [(f.field, str(f.verdict)) for f in assessment.fields] == [("body.served_at", "noise")]
    assert assessment.real_diff_rate == 0


def test_a_failed_copy_is_not_compared():
    evidence = store()
    result = compare_exchange(
        exchange(reply(PATIENT), None), settings(), evidence, None, max_body_bytes=10_000
    )
    assert result is ExchangeResult.ERROR
    assert len(evidence) == 0


def test_a_body_over_the_budget_is_one_body_difference():
    evidence = store()
    big = Reply(200, JSON, b"", too_large=True)
    compare_exchange(exchange(reply(PATIENT), big), settings(), evidence, None, max_body_bytes=64)
    assert list(counted(evidence).raw) == [NOT_COMPARED]


def test_a_gzipped_answer_is_compared_by_its_content_and_a_bomb_is_too_large():
    evidence = store()
    coded = ((b"Content-Type", b"application/json"), (b"Content-Encoding", b"gzip"))
    same = Reply(200, coded, gzip.compress(json.dumps(PATIENT).encode()))
    compare_exchange(
        exchange(reply(PATIENT), same), settings(), evidence, None, max_body_bytes=10_000
    )
    assert counted(evidence).raw == {}
    bomb = Reply(200, coded, gzip.compress(b"[" + b"0," * 100_000 + b"0]"))
    evidence = store()
    compare_exchange(
        exchange(reply(PATIENT), bomb), settings(), evidence, None, max_body_bytes=1_000
    )
    assert list(counted(evidence).raw) == [NOT_COMPARED]


def test_a_dry_run_write_compares_generated_values_by_kind_only():
    evidence = store()
    rules = CompareRules(generated=frozenset({"body.id"}))
    compare = FeatureCompare(CompareSettings(), {("PUT", "/api/patients"): rules})
    ex = Exchange("patients", "PUT", "/api/patients", True, lambda _: None)
    ex.settle("legacy", reply({**PATIENT, "id": 41}, status=201))
    ex.settle("service", reply({**PATIENT, "id": 9001}, status=201))  # the dry run's own id
    compare_exchange(ex, compare, evidence, None, max_body_bytes=10_000)
    assert counted(evidence).compared == 1
    assert counted(evidence).raw == {}


def test_a_member_named_by_an_identifier_is_counted_under_its_surrogate():
    evidence = store()
    legacy = reply({"byEmail": {"jane.testperson@example.org": 1}})
    service = reply({"byEmail": {"jane.testperson@example.org": 2}})
    compare_exchange(
        exchange(legacy, service), settings(), evidence, Deidentifier(KEY), max_body_bytes=10_000
    )
    (field,) = counted(evidence).raw
    assert field.startswith("body.byEmail")
    assert "jane" not in field
    assert [s.field for s in evidence._samples] == [field]


# Names where the word lists see no identifier: prose, an error in the demo's shape, HTML.
GIVEN, FAMILY, DOCTOR = "Adaeze", "Quillfeather", "Thornquist"


def stored_text(evidence):
    """Everything the store would write: the tally's JSON and each sample's columns."""
    rows = [json.dumps(t.as_dict()) for t in evidence._tallies.values()]
    rows += [f"{s.field} {s.legacy_value} {s.other_value}" for s in evidence._samples]
    return " ".join(rows)


def test_no_name_of_a_synthetic_patient_reaches_what_is_stored():
    rules = CompareRules(headers=frozenset({"content-type", "content-disposition"}))
    compare = FeatureCompare(CompareSettings(), {("GET", "/api/patients/{id:int}"): rules})
    record = {
        "ERR": f"PATIENT {GIVEN.upper()} {FAMILY.upper()} ALREADY BOOKED",
        "PROVIDER_DESC": f"Dr. Gregory {DOCTOR}",
        "APPT_DESC": f"Follow-up for {GIVEN} {FAMILY}",
        "remark_free": f"{GIVEN} called",
        "STATUS": "BOOKED",
        "SLOT": 12,
    }
    legacy_json = Reply(
        200,
        (*JSON, (b"Content-Disposition", f"attachment; filename={FAMILY}_{GIVEN}.pdf".encode())),
        json.dumps(record).encode(),
    )
    service_json = reply(
        {k: f"{v}!" if isinstance(v, str) else int(str(v)) + 1 for k, v in record.items()}
    )
    html = ((b"Content-Type", b"text/html"),)
    page = f"<table>\n<td>{FAMILY.upper()}, {GIVEN.upper()}</td><td>M0004217</td>\n</table>"
    legacy_html = Reply(200, html, page.encode())
    service_html = Reply(200, html, page.replace(FAMILY.upper(), FAMILY).encode())
    evidence = store()
    for legacy, service in ((legacy_json, service_json), (legacy_html, service_html)):
        compare_exchange(
            exchange(legacy, service), compare, evidence, Deidentifier(KEY), max_body_bytes=10_000
        )
    text = stored_text(evidence)
    for name in (GIVEN, FAMILY, GIVEN.upper(), FAMILY.upper(), DOCTOR, "M0004217"):
        assert name not in text, name
    # Codes and numbers still show what differed.
    shown = {s.field: (s.legacy_value, s.other_value) for s in evidence._samples}
    assert shown["body.STATUS"] == ('"BOOKED"', '"BOOKED!"')
    assert shown["body.SLOT"] == ("12", "13")
    assert "line 2" in shown["body"][0]


def test_without_a_key_a_member_that_may_be_an_identifier_is_never_stored():
    """No key, no surrogates: such members are folded into `<member>`, plain words kept."""
    members = ["jane.testperson@example.org", "M0001234", "Jane Testperson", "12345678"]
    legacy = reply({"byEmail": {m: 1 for m in members}, "index": {"M0001234": 1}, "ward": "4B"})
    service = reply({"byEmail": {m: 2 for m in members}, "index": {"M0001234": 2}, "ward": "4C"})
    evidence = store()
    compare_exchange(exchange(legacy, service), settings(), evidence, None, max_body_bytes=10_000)
    text = stored_text(evidence)
    for member in (*members, "jane", "Testperson"):
        assert member not in text, member
    assert set(counted(evidence).raw) >= {"body.ward", 'body.byEmail["<member>"]'}
    assert evidence._samples == []


def test_bodies_never_compared_fail_the_gate_closed_whatever_the_noise():
    """1,000 exchanges over the byte budget, every tenth asked of legacy again: legacy's second
    answer is over the budget too, yet nothing was shown equal, so every exchange is real."""
    evidence = store()
    big = Reply(200, JSON, b"", too_large=True)
    for n in range(1_000):
        noise = big if n % 10 == 0 else None
        result = compare_exchange(
            exchange(big, big, noise), settings(), evidence, None, max_body_bytes=64
        )
        assert result is ExchangeResult.DIFFERENCE
    assessment = assess(counted(evidence), accepted=frozenset({"body", "body.**"}))
    assert assessment.real_diff_rate == 1.0
    (field,) = assessment.fields
    assert (field.field, field.raw) == (NOT_COMPARED, 1_000)  # the "not compared" count


def test_a_page_whose_token_changes_each_time_does_not_excuse_real_changes():
    html = ((b"Content-Type", b"text/html"),)
    evidence = store()
    for n in range(200):
        legacy = Reply(200, html, f"<input name=csrf value={n}a>\n<p>ward 4B</p>".encode())
        again = Reply(200, html, f"<input name=csrf value={n}b>\n<p>ward 4B</p>".encode())
        service = Reply(200, html, f"<input name=csrf value={n}c>\n<p>ward 4C</p>".encode())
        result = compare_exchange(
            exchange(legacy, service, again), settings(), evidence, None, max_body_bytes=10_000
        )
        assert result is ExchangeResult.DIFFERENCE
    assert assess(counted(evidence)).real_diff_rate == 1.0
    # Only an explicit accepted entry excuses a whole-body difference.
    assert assess(counted(evidence), accepted=frozenset({"body"})).real_diff_rate == 0.0
