"""Patient search (MRN, LAST, LAST,FIRST) and demographics with the SSN masked."""

from __future__ import annotations

import pytest

from demo.legacy.db import execute, fetch_all, write_transaction
from tests.demo.legacy.conftest import query_one

SUMMARY_KEYS = ["PAT_ID", "MRN", "LAST_NM", "FIRST_NM", "DOB", "SEX_CD"]
DETAIL_KEYS = [
    "PAT_ID", "MRN", "LAST_NM", "FIRST_NM", "DOB", "SEX_CD", "SSN", "PHONE", "ADDR1", "CITY",
    "ST", "ZIP", "UPD_TS",
]  # fmt: skip


def add_patient(engine, pat_id, last, first, ssn="912-34-5678"):
    with write_transaction(engine) as conn:
        execute(
            conn,
            "INSERT INTO PATIENT_MASTER (PAT_ID, MRN, LAST_NM, FIRST_NM, DOB, SEX_CD, SSN, PHONE,"
            " ADDR1, CITY, ST, ZIP, UPD_TS) VALUES (:id, :mrn, :last, :first, '19800101', 'F',"
            " :ssn, NULL, '1 TEST ST', 'TESTVILLE', 'MA', '01234', '20260101120000')",
            {"id": pat_id, "mrn": f"M{pat_id:07d}", "last": last, "first": first, "ssn": ssn},
        )


def test_it_finds_patients_by_last_name_prefix_in_any_case(clinician, engine):
    prefix = query_one(engine, "SELECT LAST_NM FROM PATIENT_MASTER WHERE PAT_ID = 3")["LAST_NM"][:3]
    with engine.connect() as conn:
        expected = fetch_all(
            conn,
            "SELECT PAT_ID FROM PATIENT_MASTER WHERE LAST_NM LIKE :p"
            " ORDER BY LAST_NM, FIRST_NM, PAT_ID LIMIT 50",
            {"p": prefix + "%"},
        )
    body = clinician.get(f"/api/patients?q={prefix.lower()}").json()
    assert list(body) == ["PATIENTS", "COUNT"]
    assert [p["PAT_ID"] for p in body["PATIENTS"]] == [r["PAT_ID"] for r in expected]
    assert body["COUNT"] == len(expected) > 0
    assert all(list(p) == SUMMARY_KEYS for p in body["PATIENTS"])
    assert all(p["LAST_NM"].startswith(prefix) for p in body["PATIENTS"])


def test_it_finds_last_comma_first(clinician, engine):
    add_patient(engine, 5001, "ZZTESTER", "ALMA")
    add_patient(engine, 5002, "ZZTESTER", "BORIS")
    add_patient(engine, 5003, "ZZTESTERSON", "ALBERT")
    hits = clinician.get("/api/patients?q=zztester,al").json()["PATIENTS"]
    assert [(p["LAST_NM"], p["FIRST_NM"]) for p in hits] == [
        ("ZZTESTER", "ALMA"),
        ("ZZTESTERSON", "ALBERT"),
    ]
    assert clinician.get("/api/patients?q=ZZTESTER%20,%20BOR").json()["COUNT"] == 1


def test_results_are_ordered_by_name_then_id(clinician, engine):
    add_patient(engine, 5003, "ZZORDER", "BETA")
    add_patient(engine, 5001, "ZZORDER", "ALPHA")
    add_patient(engine, 5002, "ZZORDER", "ALPHA")
    hits = clinician.get("/api/patients?q=zzorder").json()["PATIENTS"]
    assert [p["PAT_ID"] for p in hits] == [5001, 5002, 5003]


def test_an_mrn_matches_exactly(clinician):
    body = clinician.get("/api/patients?q=m0000042").json()
    assert body["COUNT"] == 1
    assert body["PATIENTS"][0]["PAT_ID"] == 42
    assert body["PATIENTS"][0]["MRN"] == "M0000042"
    assert clinician.get("/api/patients?q=M9999999").json() == {"PATIENTS": [], "COUNT": 0}


def test_it_returns_at_most_fifty(clinician, engine):
    for i in range(55):
        add_patient(engine, 6000 + i, "ZZMANY", f"P{i:03d}")
    body = clinician.get("/api/patients?q=zzmany").json()
    assert body["COUNT"] == 50
    assert len(body["PATIENTS"]) == 50


def test_like_wildcards_in_the_query_match_only_themselves(clinician, engine):
    add_patient(engine, 5001, "ZZ_UNDER", "A")
    assert clinician.get("/api/patients?q=%25%25").json()["COUNT"] == 0  # q = "%%"
    assert clinician.get("/api/patients?q=Z_").json()["COUNT"] == 0
    assert clinician.get("/api/patients?q=ZZ_").json()["COUNT"] == 1
    assert clinician.get("/api/patients?q=!!").json()["COUNT"] == 0


@pytest.mark.parametrize("q", ["", "a", "%20%20", "%20x%20", None])
def test_a_query_shorter_than_two_characters_is_306(clinician, q):
    url = "/api/patients" if q is None else f"/api/patients?q={q}"
    response = clinician.get(url)
    assert response.status == 400
    assert response.json() == {"ERR": "SEARCH TOO SHORT", "CODE": 306}


def test_it_shows_demographics_with_the_ssn_masked(clinician, engine):
    add_patient(engine, 5001, "ZZMASK", "ANNA", ssn="987-65-4321")
    response = clinician.get("/api/patients/5001")
    assert response.status == 200
    body = response.json()
    assert list(body) == DETAIL_KEYS
    assert body["SSN"] == "XXX-XX-4321"
    assert "987-65" not in response.text
    assert body["PHONE"] is None
    assert (body["LAST_NM"], body["ZIP"], body["UPD_TS"]) == ("ZZMASK", "01234", "20260101120000")


def test_a_patient_without_an_ssn_shows_null(clinician, engine):
    add_patient(engine, 5001, "ZZNOSSN", "ANNA", ssn=None)
    assert clinician.get("/api/patients/5001").json()["SSN"] is None


def test_an_unknown_patient_is_202(clinician):
    for url in ("/api/patients/999999", "/api/patients/0", "/api/patients/123456789012345678901"):
        response = clinician.get(url)
        assert response.status == 404
        assert response.json() == {"ERR": "PATIENT NOT FOUND", "CODE": 202}


def test_searched_names_never_reach_the_log(clinician, caplog):
    caplog.set_level("INFO")
    clinician.get("/api/patients?q=zzsecretname")
    clinician.get("/api/patients/42")
    assert "ZZSECRETNAME" not in caplog.text.upper()
    assert "GET /api/patients 200" in caplog.text
    assert "GET /api/patients/{id} 200" in caplog.text
    assert "/42" not in caplog.text
