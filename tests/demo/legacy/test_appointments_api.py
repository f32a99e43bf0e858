"""The appointment API: list, show, book, double-book, reschedule and cancel, per the contract."""

from __future__ import annotations

import pytest

from demo.legacy.db import fetch_all, fetch_value
from tests.demo.legacy.conftest import SATURDAY, query_one

APPT_KEYS = [
    "APPT_ID", "PAT_ID", "PAT_NM", "PROV_ID", "APPT_DT", "APPT_TM", "DUR_MIN", "STATUS_CD",
    "REASON_TXT", "UPD_TS",
]  # fmt: skip
SLOT_TAKEN = {"ERR": "SLOT NOT AVAILABLE", "CODE": 401}
ALREADY_CANCELLED = {"ERR": "APPOINTMENT ALREADY CANCELLED", "CODE": 402}


def booking(**overrides):
    body = {"PAT_ID": 17, "PROV_ID": 2, "APPT_DT": SATURDAY, "APPT_TM": "0930", "DUR_MIN": 30}
    body.update(overrides)
    return body


def row(engine, appt_id):
    return query_one(engine, "SELECT * FROM APPT_SCHED WHERE APPT_ID = :id", {"id": appt_id})


def next_appt_id(engine):
    with engine.connect() as conn:
        return fetch_value(conn, "SELECT NEXT_VAL FROM LEGACY_SEQ WHERE SEQ_NM = 'APPT_ID'")


def test_it_lists_a_providers_day_in_time_order(clinician, engine):
    response = clinician.get("/api/appointments?prov=1&date=20261120")
    assert response.status == 200
    assert response.header("Content-Type") == "application/json"
    assert response.header("Cache-Control") == "no-store"
    body = response.json()
    with engine.connect() as conn:
        expected = fetch_all(
            conn,
            "SELECT APPT_ID FROM APPT_SCHED WHERE PROV_ID = 1 AND APPT_DT = '20261120'"
            " ORDER BY APPT_TM, APPT_ID",
        )
    assert list(body) == ["APPTS", "COUNT"]
    assert body["COUNT"] == len(expected) > 0
    assert [a["APPT_ID"] for a in body["APPTS"]] == [r["APPT_ID"] for r in expected]
    assert all(list(a) == APPT_KEYS for a in body["APPTS"])
    assert all(a["PROV_ID"] == 1 and a["APPT_DT"] == "20261120" for a in body["APPTS"])


def test_an_empty_day_is_an_empty_list(clinician):
    assert clinician.get(f"/api/appointments?prov=1&date={SATURDAY}").json() == {
        "APPTS": [],
        "COUNT": 0,
    }


def test_it_shows_one_appointment_with_the_patients_name(clinician, engine):
    patient = query_one(
        engine,
        "SELECT P.LAST_NM, P.FIRST_NM, A.PAT_ID FROM APPT_SCHED A"
        " JOIN PATIENT_MASTER P ON P.PAT_ID = A.PAT_ID WHERE A.APPT_ID = 5",
    )
    body = clinician.get("/api/appointments/5").json()
    assert list(body) == APPT_KEYS
    assert body["APPT_ID"] == 5
    assert body["PAT_ID"] == patient["PAT_ID"]
    assert body["PAT_NM"] == f"{patient['LAST_NM']}, {patient['FIRST_NM']}"


def test_an_unknown_appointment_is_201(clinician):
    for url in ("/api/appointments/999999", "/api/appointments/99999999999999999999999"):
        response = clinician.get(url)
        assert response.status == 404
        assert response.json() == {"ERR": "APPOINTMENT NOT FOUND", "CODE": 201}


def test_booking_answers_200_with_the_new_id_from_legacy_seq(clinician, engine):
    expected_id = next_appt_id(engine)
    response = clinician.post("/api/appointments", booking(REASON_TXT="FOLLOW UP"))
    assert response.status == 200  # the legacy quirk: not 201
    assert response.json() == {"RESULT": "OK", "APPT_ID": expected_id}
    assert next_appt_id(engine) == expected_id + 1
    assert row(engine, expected_id) == {
        "APPT_ID": expected_id,
        "PAT_ID": 17,
        "PROV_ID": 2,
        "APPT_DT": SATURDAY,
        "APPT_TM": "0930",
        "DUR_MIN": 30,
        "STATUS_CD": "B",
        "REASON_TXT": "FOLLOW UP",
        "UPD_TS": "20261120100000",
    }
    shown = clinician.get(f"/api/appointments/{expected_id}").json()
    assert shown["STATUS_CD"] == "B"
    assert shown["REASON_TXT"] == "FOLLOW UP"


def test_a_booking_without_a_reason_has_an_empty_reason(scheduler):
    appt_id = scheduler.post("/api/appointments", booking()).json()["APPT_ID"]
    assert scheduler.get(f"/api/appointments/{appt_id}").json()["REASON_TXT"] == ""


@pytest.mark.parametrize(
    ("tm", "dur"),
    [("0930", 15), ("0945", 15), ("0915", 30), ("0900", 60), ("0959", 5)],
)
def test_double_booking_an_overlapping_slot_is_409(clinician, engine, tm, dur):
    clinician.post("/api/appointments", booking(APPT_TM="0930", DUR_MIN=30))
    before = next_appt_id(engine)
    response = clinician.post("/api/appointments", booking(PAT_ID=18, APPT_TM=tm, DUR_MIN=dur))
    assert response.status == 409
    assert response.json() == SLOT_TAKEN
    assert next_appt_id(engine) == before  # the failed booking allocated nothing


def test_back_to_back_slots_and_other_providers_are_free(clinician):
    clinician.post("/api/appointments", booking(APPT_TM="0930", DUR_MIN=30))
    assert clinician.post("/api/appointments", booking(APPT_TM="1000", DUR_MIN=15)).status == 200
    assert clinician.post("/api/appointments", booking(APPT_TM="0915", DUR_MIN=15)).status == 200
    assert clinician.post("/api/appointments", booking(PROV_ID=3)).status == 200


def test_a_cancelled_or_no_show_appointment_frees_its_slot(clinician, engine):
    first = clinician.post("/api/appointments", booking()).json()["APPT_ID"]
    clinician.post(f"/api/appointments/{first}/cancel")
    assert clinician.post("/api/appointments", booking()).status == 200
    no_show = query_one(engine, "SELECT * FROM APPT_SCHED WHERE STATUS_CD = 'N' LIMIT 1")
    arrived = query_one(engine, "SELECT * FROM APPT_SCHED WHERE STATUS_CD = 'A' LIMIT 1")
    over_no_show = booking(
        PROV_ID=no_show["PROV_ID"],
        APPT_DT=no_show["APPT_DT"],
        APPT_TM=no_show["APPT_TM"],
        DUR_MIN=no_show["DUR_MIN"],
    )
    assert clinician.post("/api/appointments", over_no_show).status == 200
    over_arrived = booking(
        PROV_ID=arrived["PROV_ID"],
        APPT_DT=arrived["APPT_DT"],
        APPT_TM=arrived["APPT_TM"],
        DUR_MIN=arrived["DUR_MIN"],
    )
    assert clinician.post("/api/appointments", over_arrived).json() == SLOT_TAKEN


def test_rescheduling_moves_the_appointment_and_stamps_upd_ts(clinician, engine, clock):
    appt_id = clinician.post("/api/appointments", booking(REASON_TXT="COUGH")).json()["APPT_ID"]
    clock.advance(minutes=5)
    response = clinician.put(
        f"/api/appointments/{appt_id}", {"APPT_DT": "20261123", "APPT_TM": "0700", "PROV_ID": 3}
    )
    assert response.status == 200
    assert response.json() == {"RESULT": "OK", "APPT_ID": appt_id}
    moved = row(engine, appt_id)
    assert (moved["APPT_DT"], moved["APPT_TM"], moved["PROV_ID"]) == ("20261123", "0700", 3)
    assert (moved["DUR_MIN"], moved["REASON_TXT"], moved["STATUS_CD"]) == (30, "COUGH", "B")
    assert moved["UPD_TS"] == "20261120100500"


def test_rescheduling_can_change_duration_and_reason(clinician, engine):
    appt_id = clinician.post("/api/appointments", booking()).json()["APPT_ID"]
    body = {"APPT_DT": SATURDAY, "APPT_TM": "0930", "DUR_MIN": 45, "REASON_TXT": "LAB REVIEW"}
    assert clinician.put(f"/api/appointments/{appt_id}", body).status == 200
    assert (row(engine, appt_id)["DUR_MIN"], row(engine, appt_id)["REASON_TXT"]) == (
        45,
        "LAB REVIEW",
    )


def test_rescheduling_may_overlap_its_own_old_slot(clinician):
    appt_id = clinician.post("/api/appointments", booking(APPT_TM="0930", DUR_MIN=30)).json()[
        "APPT_ID"
    ]
    response = clinician.put(
        f"/api/appointments/{appt_id}", {"APPT_DT": SATURDAY, "APPT_TM": "0945"}
    )
    assert response.status == 200


def test_rescheduling_onto_an_occupied_slot_is_409(clinician, engine):
    clinician.post("/api/appointments", booking(APPT_TM="1000", DUR_MIN=30))
    appt_id = clinician.post("/api/appointments", booking(APPT_TM="0900", DUR_MIN=30)).json()[
        "APPT_ID"
    ]
    response = clinician.put(
        f"/api/appointments/{appt_id}", {"APPT_DT": SATURDAY, "APPT_TM": "1015"}
    )
    assert response.status == 409
    assert response.json() == SLOT_TAKEN
    assert row(engine, appt_id)["APPT_TM"] == "0900"


def test_rescheduling_to_an_unknown_provider_is_305(clinician):
    appt_id = clinician.post("/api/appointments", booking()).json()["APPT_ID"]
    response = clinician.put(
        f"/api/appointments/{appt_id}", {"APPT_DT": SATURDAY, "APPT_TM": "0930", "PROV_ID": 9999}
    )
    assert response.status == 400
    assert response.json() == {"ERR": "UNKNOWN PROVIDER", "CODE": 305}


def test_rescheduling_a_cancelled_appointment_is_409_402(clinician):
    appt_id = clinician.post("/api/appointments", booking()).json()["APPT_ID"]
    clinician.post(f"/api/appointments/{appt_id}/cancel")
    response = clinician.put(
        f"/api/appointments/{appt_id}", {"APPT_DT": SATURDAY, "APPT_TM": "1100"}
    )
    assert response.status == 409
    assert response.json() == ALREADY_CANCELLED


def test_rescheduling_an_unknown_appointment_is_201_before_the_body_is_read(clinician):
    response = clinician.request("PUT", "/api/appointments/999999", body=b"not json")
    assert response.status == 404
    assert response.json() == {"ERR": "APPOINTMENT NOT FOUND", "CODE": 201}


def test_cancel_then_cancel_again_is_409(clinician, engine, clock):
    appt_id = clinician.post("/api/appointments", booking()).json()["APPT_ID"]
    clock.advance(hours=1)
    first = clinician.post(f"/api/appointments/{appt_id}/cancel")
    assert first.status == 200
    assert first.json() == {"RESULT": "OK", "APPT_ID": appt_id}
    assert (row(engine, appt_id)["STATUS_CD"], row(engine, appt_id)["UPD_TS"]) == (
        "C",
        "20261120110000",
    )
    clock.advance(hours=1)
    second = clinician.post(f"/api/appointments/{appt_id}/cancel")
    assert second.status == 409
    assert second.json() == ALREADY_CANCELLED
    assert row(engine, appt_id)["UPD_TS"] == "20261120110000"  # the refused cancel wrote nothing


def test_cancelling_an_unknown_appointment_is_201(clinician):
    response = clinician.post("/api/appointments/999999/cancel")
    assert response.status == 404
    assert response.json()["CODE"] == 201


def test_the_booked_appointment_shows_up_in_the_day_list(scheduler):
    appt_id = scheduler.post("/api/appointments", booking(APPT_TM="1400")).json()["APPT_ID"]
    scheduler.post("/api/appointments", booking(APPT_TM="0800", PAT_ID=20))
    listed = scheduler.get(f"/api/appointments?prov=2&date={SATURDAY}").json()
    assert listed["COUNT"] == 2
    assert [a["APPT_TM"] for a in listed["APPTS"]] == ["0800", "1400"]
    assert listed["APPTS"][1]["APPT_ID"] == appt_id
