"""Evidence samples as an auditor sees them: no Safe Harbor identifier of the synthetic patient
survives, equal values keep equal surrogates, and a difference the comparison found (a date's
format, a number sent as a string) is still a difference after de-identification."""

from __future__ import annotations

import doctest
import json
from pathlib import Path
from typing import Any

import pytest

from domain.deidentify import (
    KEY_ENV,
    MAX_DEPTH,
    MAX_ITEMS,
    MAX_TEXT,
    Deidentifier,
    key_from_environment,
    keyless_path,
)

KEY = b"evidence-key-for-tests-only-0001"
OTHER_KEY = b"another-key-for-tests-only-00002"
auditor = Deidentifier(KEY, this_year=2026)

# One synthetic patient (invented: no real person), as the legacy app, /v2 and FHIR send it.
MRN, PAT_ID, SSN = "M0004217", 4217, "987-65-4320"
FAMILY, GIVEN = "Quillfeather", "Adaeze"
DOB_LEGACY, DOB_ISO = "19610714", "1961-07-14"
PHONE, EMAIL = "(555) 555-0142", "adaeze.q@example.org"
STREET, CITY, ZIP = "4471 Marrowby Lane", "Thistlecombe", "73019"
CLIENT_IP, PORTAL = "203.0.113.77", f"https://portal.example.org/charts/{MRN}?view=full"
IDENTIFIERS = [MRN, str(PAT_ID), SSN, FAMILY, GIVEN, FAMILY.upper(), GIVEN.upper(), DOB_LEGACY,
               DOB_ISO, "07-14", "0714", PHONE, "555-0142", EMAIL, STREET, CITY, ZIP, CLIENT_IP,
               "portal.example.org", "Bess Quillfeather"]  # fmt: skip
LEGACY_PATIENT = {
    "PAT_ID": PAT_ID, "MRN": MRN, "LAST_NM": FAMILY.upper(), "FIRST_NM": GIVEN.upper(),
    "DOB": DOB_LEGACY, "SEX_CD": "F", "SSN": SSN, "PHONE": PHONE, "ADDR1": STREET.upper(),
    "CITY": CITY.upper(), "ST": "OK", "ZIP": ZIP, "UPD_TS": "20260105143000",
}  # fmt: skip
V2_PATIENT = {
    "id": PAT_ID, "mrn": MRN, "family_name": FAMILY, "given_name": GIVEN, "birth_date": DOB_ISO,
    "sex": "female", "ssn": SSN, "phone": PHONE, "address_line": STREET, "city": CITY,
    "state": "OK", "postal_code": ZIP, "updated_at": "2026-01-05T14:30:00Z",
}  # fmt: skip
FHIR_PATIENT = {
    "resourceType": "Patient",
    "id": str(PAT_ID),
    "meta": {"lastUpdated": "2026-01-05T14:30:00+00:00"},
    "identifier": [{"use": "usual", "system": "urn:ficus:legacy:mrn", "value": MRN}],
    "name": [{"use": "official", "family": FAMILY, "given": [GIVEN]}],
    "gender": "female",
    "birthDate": DOB_ISO,
    "telecom": [{"system": "phone", "value": PHONE}, {"system": "email", "value": EMAIL}],
    "address": [{"use": "home", "line": [STREET], "city": CITY, "state": "OK", "postalCode": ZIP}],
    "contact": [{"name": {"text": "Bess Quillfeather"}, "relationship": [{"text": "mother"}]}],
    "text": {"status": "generated", "div": f"<div>{GIVEN} {FAMILY}, born {DOB_ISO}</div>"},
}
EXCHANGE = {
    "status": 200,
    "header": {"location": PORTAL, "x-forwarded-for": CLIENT_IP, "content-type": "text/html"},
    "body": {"legacy": LEGACY_PATIENT, "v2": V2_PATIENT, "fhir": FHIR_PATIENT},
    "note": f"Seen {DOB_ISO}; call {PHONE} or {EMAIL}; chart {MRN}; from {CLIENT_IP}",
}


def stored(path: str, value: object) -> Any:
    """A sample as the evidence store keeps it: strict JSON, read back."""
    return json.loads(json.dumps(auditor.sample(path, value), allow_nan=False))


def test_it_leaves_no_identifier_of_a_synthetic_patient_anywhere_in_the_sample():
    stored = json.dumps(auditor.sample("", EXCHANGE))
    for identifier in IDENTIFIERS:
        assert identifier not in stored, identifier


def test_it_leaves_no_identifier_in_a_whole_non_json_body():
    page = f"<html><p>{MRN}</p><p>{SSN}</p><p>{DOB_ISO}</p><a href='{PORTAL}'>{EMAIL}</a></html>"
    stored = auditor.sample("body", page)
    assert isinstance(stored, str)
    for identifier in (MRN, SSN, DOB_ISO, EMAIL, "portal.example.org"):
        assert identifier not in stored
    assert stored.startswith("Text-")  # a page is prose: replaced whole


def test_what_is_no_identifier_passes_unchanged():
    sample = stored("body", {**FHIR_PATIENT, "active": True, "DUR_MIN": 30, "COUNT": 2})
    assert sample["resourceType"] == "Patient"
    assert sample["gender"] == "female"
    assert sample["active"] is True
    assert (sample["DUR_MIN"], sample["COUNT"]) == (30, 2)
    assert sample["identifier"][0]["use"] == "usual"
    assert sample["telecom"][0]["system"] == "phone"
    assert sample["address"][0]["state"] == "OK"  # Safe Harbor keeps the state
    assert auditor.sample("status", 404) == 404
    assert auditor.sample("body.STATUS_CD", "A") == "A"
    assert auditor.sample("body.SEX_CD", "F") == "F"
    assert auditor.sample("body.RESULT_CD", "NOT_FOUND") == "NOT_FOUND"
    assert auditor.sample("body.kind", "A12") == "A12"
    assert auditor.sample("body.PAT_ID", None) is None


@pytest.mark.parametrize(
    ("path", "value", "shape"),
    [
        ("body.LAST_NM", FAMILY.upper(), "Name-"),
        ("body.name[0].given[0]", GIVEN, "Name-"),
        ("body.PAT_NM", f"{FAMILY.upper()}, {GIVEN.upper()}", "Name-"),
        ("body.contact[0].name.text", "Bess Quillfeather", "Name-"),
        ("body.MRN", MRN, "ID-"),
        ("body.patient_id", PAT_ID, "ID-"),
        ("body.identifier[0].value", "local-42", "ID-"),
        ("header.set-cookie", "LEGACYSESS=abc123; Path=/", "ID-"),
        ("body.SSN", "987654320", "SSN-"),
        ("body.PHONE", "5555550142", "555-"),
        ("body.telecom[0].value", PHONE, "555-"),
        ("body.email", "adaeze at example dot org", "user-"),
        ("body.ADDR1", STREET, "Addr-"),
        ("body.CITY", CITY, "Addr-"),
        ("body.ZIP", ZIP, "Addr-"),
        ("body.address[0].line[0]", STREET, "Addr-"),
        ("header.x-forwarded-for", CLIENT_IP, "ip-"),
        ("body.ip_address", "::1", "ip-"),
        ("body.DOB", DOB_LEGACY, "1961**** #"),
        ("body.birthDate", DOB_ISO, "1961-**-** #"),
        ("body.APPT_TM", "0930", "Date-"),
        ("body.REASON_TXT", f"Follow-up, daughter {GIVEN} present", "Text-"),
        ("header.location", f"/api/patients/{PAT_ID}", "/api/patients/ID-"),
        ("body.reference", f"Patient/{PAT_ID}", "Patient/ID-"),
    ],
)
def test_each_safe_harbor_category_is_found_by_its_field_name(path, value, shape):
    surrogate = auditor.sample(path, value)
    assert isinstance(surrogate, str)
    assert surrogate.startswith(shape)
    assert str(value) not in surrogate


@pytest.mark.parametrize(
    ("value", "shape"),
    [
        (EMAIL, "user-"),
        (SSN, "SSN-"),
        (PHONE, "555-"),
        ("+1 555.555.0142", "555-"),
        (CLIENT_IP, "ip-"),
        ("2001:db8::7", "ip-"),
        (PORTAL, "https://host-"),
        ("www.example.org/charts/7", "ID-"),
        (DOB_ISO, "1961-**-** #"),
        ("1961-07-14T09:30:00Z", "1961-**-**T**:**:**Z #"),
        ("07/14/1961", "**/**/1961 #"),
        ("July 14, 1961", "**** **, 1961 #"),
        ("14 Jul 1961", "** *** 1961 #"),
        (MRN, "ID-"),
    ],
)
def test_each_pattern_is_found_whatever_the_field_is_called(value, shape):
    surrogate = auditor.sample("body.remarks_for_nobody.x", value)
    assert isinstance(surrogate, str)
    assert surrogate.startswith(shape)
    assert value not in surrogate
    prose = auditor.text("body", f"before {value} after")
    assert prose.startswith("Text-")
    assert value not in prose


def test_equal_values_give_equal_surrogates_under_one_key():
    again = Deidentifier(KEY, this_year=2026)
    assert again.sample("", EXCHANGE) == auditor.sample("", EXCHANGE)
    # The same MRN in a legacy column, a FHIR identifier and free text is one surrogate.
    mrn = auditor.sample("body.MRN", MRN)
    assert auditor.sample("body.identifier[0].value", MRN) == mrn
    assert auditor.text("body.x", f"chart:{MRN}") == f"chart:{mrn}"


def test_another_key_gives_other_surrogates():
    other = Deidentifier(OTHER_KEY, this_year=2026)
    for path, value in [("body.MRN", MRN), ("body.birthDate", DOB_ISO), ("body.email", EMAIL)]:
        assert other.sample(path, value) != auditor.sample(path, value)


@pytest.mark.parametrize(
    ("path", "legacy", "service"),
    [
        ("body.birthDate", "1961-07-14", "07/14/1961"),
        ("body.birthDate", "1961-07-14", "1961-07-14T00:00:00Z"),
        ("body.PAT_ID", 4217, "4217"),
        ("body.family", "Quillfeather", "QUILLFEATHER"),
        ("body.family", "Quillfeather", "Quillfeather "),
        ("body.phone", "(555) 555-0142", "555-555-0142"),
        ("body.age", 93, 94),
        ("header.location", "/api/patients/7", "/api/patients/7/"),
        ("header.location", "/api/patients/7", "/api/patients/7?"),
        ("header.location", "", " "),
        ("header.location", "/api/pa\ttients", "/api/patients"),
    ],
)
def test_a_formatting_difference_survives_de_identification(path, legacy, service):
    assert auditor.sample(path, legacy) != auditor.sample(path, service)


def test_ages_over_89_are_aggregated_and_younger_ones_kept():
    assert auditor.sample("body.age", 42) == 42
    assert auditor.sample("body.age", 89) == 89
    aged = auditor.sample("body.age", 93)
    assert isinstance(aged, str)
    assert aged.startswith("90+ #")
    assert "93" not in aged
    assert str(auditor.sample("body.age", "unknown")).startswith("Age-")
    assert str(auditor.sample("body.age", float("nan"))).startswith("Age-")


def test_a_birth_year_more_than_89_years_ago_is_masked_too():
    old = auditor.sample("body.DOB", "19300101")
    assert isinstance(old, str)
    assert "1930" not in old
    assert old.endswith("90y+")
    assert auditor.sample("body.DOB", "19400101") == auditor.sample("body.DOB", "19400101")
    assert str(auditor.sample("body.DOB", "19370101")).startswith("1937")


def test_a_url_keeps_its_shape_but_no_host_id_or_query_value():
    sample = auditor.sample("header.location", "http://10.0.0.5:8000/fhir/Patient/4217?family=Q#f")
    assert isinstance(sample, str)
    assert sample.startswith("http://host-")
    assert "/fhir/Patient/ID-" in sample
    assert "?family=ID-" in sample
    for leak in ("10.0.0.5", "4217", "=Q", "#f"):
        assert leak not in sample
    assert auditor.sample("body.system", "urn:ficus:legacy:mrn") == "urn:ficus:legacy:mrn"


def test_a_path_to_store_beside_the_sample_loses_its_selector_values():
    path = auditor.path(f"body.items[id={PAT_ID}].contacts[email={EMAIL}].name[0]")
    assert str(PAT_ID) not in path
    assert EMAIL not in path
    assert path.startswith(f"body.items[id={auditor.sample('body.id', PAT_ID)}].contacts[email=")
    assert path.endswith(".name[0]")
    assert auditor.path("body.items[status=active]") == "body.items[status=active]"


def test_keys_that_are_identifiers_are_replaced():
    sample = auditor.sample("body.by_mrn", {MRN: {"status": "active"}})
    assert sample == {auditor.sample("body.MRN", MRN): {"status": "active"}}


def test_depth_and_size_are_bounded():
    deep: object = MRN
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    assert MRN not in json.dumps(auditor.sample("body", deep))
    wide = auditor.sample("body.ids", list(range(MAX_ITEMS + 10)))
    assert isinstance(wide, list)
    assert len(wide) == MAX_ITEMS + 1
    assert "10 more items" in str(wide[-1])
    keys = auditor.sample("body", {f"k{n}": n for n in range(MAX_ITEMS + 3)})
    assert isinstance(keys, dict)
    assert len(keys) == MAX_ITEMS + 1
    long = auditor.text("body", "word " * MAX_TEXT + f" {MRN}")
    assert MRN not in long
    assert len(long) < MAX_TEXT + 100


def test_values_that_are_not_json_come_back_json_safe():
    sample = stored("body", {"x": float("nan"), "b": b"MRN M0004217", "t": (1, 2)})
    assert sample["x"] == "nan"
    assert sample["t"] == [1, 2]
    assert MRN not in sample["b"]


def test_the_mrn_shape_is_the_callers():
    hospital = Deidentifier(KEY, mrn_pattern=r"MR-[0-9]{6}")
    assert "MR-123456" not in hospital.text("body", "chart MR-123456 done")
    with pytest.raises(ValueError, match="MRN pattern"):
        Deidentifier(KEY, mrn_pattern="(")
    with pytest.raises(ValueError, match="empty string"):
        Deidentifier(KEY, mrn_pattern="[0-9]*")


@pytest.mark.parametrize("key", [b"", b"short", b"x" * 15])
def test_an_outsider_with_a_short_key_is_refused(key):
    with pytest.raises(ValueError, match="at least 16"):
        Deidentifier(key)


def test_a_key_that_is_not_bytes_is_refused_and_never_shown():
    with pytest.raises(TypeError):
        Deidentifier("a-text-key-of-enough-length")  # type: ignore[arg-type]
    assert KEY.decode() not in repr(auditor)


def test_the_key_comes_from_the_environment_as_hex():
    assert key_from_environment({}) is None
    assert key_from_environment({KEY_ENV: "  "}) is None
    assert key_from_environment({KEY_ENV: KEY.hex()}) == KEY
    with pytest.raises(ValueError, match=KEY_ENV) as refused:
        key_from_environment({KEY_ENV: "not-hex-secret-value"})
    assert "not-hex-secret-value" not in str(refused.value)
    with pytest.raises(ValueError, match="at least 16"):
        key_from_environment({KEY_ENV: "00" * 15})


def test_the_examples_of_docs_evidence_run_as_shown():
    page = Path(__file__).parents[2] / "docs" / "evidence.md"
    results = doctest.testfile(str(page), module_relative=False, report=False)
    assert (results.failed, results.attempted > 0) == (0, True)


def test_a_quoted_member_of_a_path_is_replaced_whole():
    deidentifier = Deidentifier(b"k" * 32)
    stored = deidentifier.path('body.byEmail["jane.testperson@example.org"].count')
    assert "jane" not in stored
    assert stored.startswith('body.byEmail["user-')
    assert stored.endswith('"].count')
    # A name has no pattern: a quoted member is a surrogate whatever it looks like.
    assert "Jane" not in deidentifier.path('body.byName["Jane Testperson"]')
    # Equal members stay equal, so a field is still counted as one.
    assert deidentifier.path('body["a.b"]') == deidentifier.path('body["a.b"]')


# What the demo monolith and its clients send in fields whose names say nothing of a person.
PROSE = {
    "body": f"line 12: <td>{FAMILY.upper()}, {GIVEN.upper()}</td><td>{MRN}</td>",
    "body.ERR": f"PATIENT {GIVEN.upper()} {FAMILY.upper()} ALREADY BOOKED",
    "body.PROVIDER_DESC": "Dr. Gregory Thornquist",
    "body.APPT_DESC": f"Follow-up for {GIVEN} {FAMILY}",
    "body.status_line": f"booked by {GIVEN}",
    "header.content-disposition": f"attachment; filename={FAMILY}_{GIVEN}_chart.pdf",
    "header.x-unknown": f"{FAMILY}_{GIVEN}_chart_2026.pdf",
}


@pytest.mark.parametrize("path", sorted(PROSE))
def test_names_in_prose_never_survive_whatever_the_field_is_called(path):
    """Names have no pattern: free text in a field the word lists do not know fails closed."""
    shown = json.dumps(auditor.sample(path, PROSE[path]))
    for name in (FAMILY, GIVEN, FAMILY.upper(), GIVEN.upper(), "Gregory", "Thornquist", MRN):
        assert name not in shown, (path, shown)
    assert auditor.sample(path, PROSE[path]) == auditor.sample(path, PROSE[path])


def test_member_names_that_are_prose_are_replaced_too():
    shown = json.dumps(auditor.sample("body", {f"{GIVEN} {FAMILY}": 1, "count": 2}))
    assert FAMILY not in shown
    assert '"count": 2' in shown


@pytest.mark.parametrize("code", ["active", "BOOKED", "A12", "404", "NOT_FOUND", "v2"])
def test_codes_and_short_tokens_still_pass(code):
    assert auditor.sample("body.whatever", code) == code
    assert auditor.sample("body.whatever", 12345) == 12345


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ('body.byEmail["adaeze.q@example.org"]', 'body.byEmail["<member>"]'),
        (f'body["{GIVEN} {FAMILY}"].ward', 'body["<member>"].ward'),
        (f"body.index.{MRN}", "body.index.<member>"),
        ("body.byId.12345678", "body.byId.<member>"),
        ("body.items[id=4217].DOB", "body.items[id=<member>].DOB"),
        ("body.name[0].family", "body.name[0].family"),
        ("header.content-type", "header.content-type"),
    ],
)
def test_without_a_key_members_that_may_be_identifiers_are_folded(path, kept):
    assert keyless_path(path) == kept
