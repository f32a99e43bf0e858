"""The seed generator: deterministic, sized as asked, synthetic, and free of double bookings."""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from demo.legacy.db import create_legacy_engine, fetch_all, fetch_value
from demo.legacy.ddl import LEGACY_TABLES
from demo.legacy.legacy_time import parse_legacy_date, parse_legacy_time
from demo.legacy.passwords import verify_password
from demo.legacy.seed import FEES_CENTS, SeedSpec, providers_needed, working_days
from tests.demo.legacy.conftest import ANCHOR, SMALL, seed_sqlite

TINY = SeedSpec(anchor=ANCHOR, seed=7, patients=60, appointments=500, providers=3)
PRIMARY_KEYS = {
    "PATIENT_MASTER": "PAT_ID",
    "PROVIDER": "PROV_ID",
    "APPT_SCHED": "APPT_ID",
    "BILL_CHARGE": "CHG_ID",
    "APP_USER": "USER_ID",
    "USER_SESSION": "SESS_ID",
    "LEGACY_SEQ": "SEQ_NM",
}


def dump(path: Path) -> dict[str, list[dict[str, object]]]:
    engine = create_legacy_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return {
                table: fetch_all(conn, f"SELECT * FROM {table} ORDER BY {PRIMARY_KEYS[table]}")
                for table in LEGACY_TABLES
            }
    finally:
        engine.dispose()


def seeded(tmp_path: Path, name: str, spec: SeedSpec) -> dict[str, list[dict[str, object]]]:
    path = tmp_path / f"{name}.sqlite3"
    seed_sqlite(path, spec)
    return dump(path)


def test_same_seed_and_anchor_give_identical_rows(tmp_path):
    first = seeded(tmp_path, "a", TINY)
    second = seeded(tmp_path, "b", TINY)
    assert first == second
    assert len(first["APPT_SCHED"]) == 500


def test_a_different_seed_gives_different_rows(tmp_path):
    base = seeded(tmp_path, "a", TINY)
    other = seeded(tmp_path, "b", SeedSpec(**{**TINY.__dict__, "seed": 8}))
    assert base["PATIENT_MASTER"] != other["PATIENT_MASTER"]
    assert base["APPT_SCHED"] != other["APPT_SCHED"]


def test_a_different_anchor_moves_the_appointment_window(tmp_path):
    later = ANCHOR + timedelta(days=7)
    rows = seeded(tmp_path, "a", SeedSpec(**{**TINY.__dict__, "anchor": later}))["APPT_SCHED"]
    days = {parse_legacy_date(row["APPT_DT"]) for row in rows}
    assert min(d for d in days if d) >= later - timedelta(days=60)
    assert max(d for d in days if d) <= later + timedelta(days=30)
    assert max(d for d in days if d) > ANCHOR + timedelta(days=30)


def test_sizes_are_what_was_asked(engine):
    with engine.connect() as conn:
        count = {t: fetch_value(conn, f"SELECT COUNT(*) FROM {t}") for t in LEGACY_TABLES}
    assert count["PATIENT_MASTER"] == SMALL.patients
    assert count["APPT_SCHED"] == SMALL.appointments
    assert count["PROVIDER"] == SMALL.providers
    assert count["APP_USER"] == 6
    assert count["BILL_CHARGE"] > 0
    assert count["USER_SESSION"] == 0
    assert count["LEGACY_SEQ"] == 3


def test_booked_and_arrived_appointments_never_overlap_for_a_provider(engine):
    with engine.connect() as conn:
        rows = fetch_all(
            conn,
            "SELECT PROV_ID, APPT_DT, APPT_TM, DUR_MIN FROM APPT_SCHED"
            " WHERE STATUS_CD IN ('B', 'A') ORDER BY PROV_ID, APPT_DT, APPT_TM",
        )
    days: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    for row in rows:
        start = parse_legacy_time(row["APPT_TM"])
        assert start is not None
        days[(row["PROV_ID"], row["APPT_DT"])].append((start, start + row["DUR_MIN"]))
    assert len(days) > 100
    for intervals in days.values():
        for (_, end), (next_start, _) in itertools.pairwise(intervals):
            assert end <= next_start


def test_appointments_sit_in_weekday_working_hours_on_15_minute_slots(engine):
    with engine.connect() as conn:
        rows = fetch_all(conn, "SELECT APPT_DT, APPT_TM, DUR_MIN FROM APPT_SCHED")
    allowed_days = set(working_days(ANCHOR))
    for row in rows:
        day, start = parse_legacy_date(row["APPT_DT"]), parse_legacy_time(row["APPT_TM"])
        assert day in allowed_days
        assert start is not None
        assert start % 15 == 0
        assert 8 * 60 <= start
        assert start + row["DUR_MIN"] <= 17 * 60
        assert row["DUR_MIN"] in (15, 30, 45, 60)
    assert min(allowed_days) == ANCHOR - timedelta(days=60)


def test_the_past_is_mostly_arrived_and_the_future_booked(engine):
    with engine.connect() as conn:
        rows = fetch_all(
            conn,
            "SELECT CASE WHEN APPT_DT < :today THEN 'PAST' ELSE 'FUTURE' END AS WHEN_,"
            " STATUS_CD, COUNT(*) AS N FROM APPT_SCHED GROUP BY 1, 2",
            {"today": "20261120"},
        )
    mix = {(r["WHEN_"], r["STATUS_CD"]): r["N"] for r in rows}
    past = sum(n for (when, _), n in mix.items() if when == "PAST")
    future = sum(n for (when, _), n in mix.items() if when == "FUTURE")
    assert set(mix) <= {
        ("PAST", "A"),
        ("PAST", "N"),
        ("PAST", "C"),
        ("FUTURE", "B"),
        ("FUTURE", "C"),
    }
    assert mix[("PAST", "A")] > 0.7 * past
    assert mix[("PAST", "N")] > 0
    assert mix[("PAST", "C")] > 0
    assert mix[("FUTURE", "B")] > 0.8 * future
    assert mix[("FUTURE", "C")] > 0


def test_charges_belong_to_arrived_appointments_and_follow_the_fee_schedule(engine):
    with engine.connect() as conn:
        charges = fetch_all(
            conn,
            "SELECT C.APPT_ID, C.PAT_ID, C.CPT_CD, C.AMT_CENTS, C.POSTED_DT, A.STATUS_CD,"
            " A.PAT_ID AS APPT_PAT_ID, A.APPT_DT FROM BILL_CHARGE C"
            " JOIN APPT_SCHED A ON A.APPT_ID = C.APPT_ID",
        )
        arrived = fetch_value(conn, "SELECT COUNT(*) FROM APPT_SCHED WHERE STATUS_CD = 'A'")
        orphans = fetch_value(
            conn,
            "SELECT COUNT(*) FROM BILL_CHARGE C LEFT JOIN APPT_SCHED A ON A.APPT_ID = C.APPT_ID"
            " WHERE A.APPT_ID IS NULL",
        )
    assert orphans == 0
    per_appt: dict[int, int] = defaultdict(int)
    for charge in charges:
        per_appt[charge["APPT_ID"]] += 1
        assert charge["STATUS_CD"] == "A"
        assert charge["PAT_ID"] == charge["APPT_PAT_ID"]
        assert charge["AMT_CENTS"] == FEES_CENTS[charge["CPT_CD"]]
        assert charge["APPT_DT"] <= charge["POSTED_DT"] <= "20261120"
    assert len(per_appt) == arrived  # every arrived visit is billed
    assert set(per_appt.values()) == {1, 2, 3}


def test_people_are_synthetic_and_identifiers_well_formed(engine):
    with engine.connect() as conn:
        patients = fetch_all(
            conn, "SELECT PAT_ID, MRN, SSN, PHONE, SEX_CD, DOB FROM PATIENT_MASTER"
        )
    for p in patients:
        assert p["MRN"] == f"M{p['PAT_ID']:07d}"
        assert p["SSN"] is None or re.fullmatch(r"9[0-9]{2}-[0-9]{2}-[0-9]{4}", p["SSN"])
        assert p["PHONE"] is None or re.fullmatch(r"\([0-9]{3}\) 555-01[0-9]{2}", p["PHONE"])
        assert p["SEX_CD"] in ("M", "F", "U")
        assert parse_legacy_date(p["DOB"]) is not None
        assert p["DOB"] < "20261120"
    assert any(p["SSN"] for p in patients)


def test_legacy_seq_hands_out_the_next_id_after_the_highest(engine):
    with engine.connect() as conn:
        seq = {r["SEQ_NM"]: r["NEXT_VAL"] for r in fetch_all(conn, "SELECT * FROM LEGACY_SEQ")}
        highest = {
            "APPT_ID": fetch_value(conn, "SELECT MAX(APPT_ID) FROM APPT_SCHED"),
            "PAT_ID": fetch_value(conn, "SELECT MAX(PAT_ID) FROM PATIENT_MASTER"),
            "CHG_ID": fetch_value(conn, "SELECT MAX(CHG_ID) FROM BILL_CHARGE"),
        }
    assert seq == {name: value + 1 for name, value in highest.items()}


def test_demo_users_have_their_roles_and_salted_hashes_of_demo(engine):
    with engine.connect() as conn:
        users = fetch_all(conn, "SELECT * FROM APP_USER ORDER BY USER_ID")
    roles = {u["LOGIN_NM"]: (u["ROLE_CD"], u["PROV_ID"], u["ACTIVE_FLG"]) for u in users}
    assert roles == {
        "clinician": ("CLIN", 1, "Y"),
        "scheduler": ("SCHED", None, "Y"),
        "billing": ("BILL", None, "Y"),
        "operator": ("OPER", None, "Y"),
        "auditor": ("AUDIT", None, "Y"),
        "admin": ("ADMIN", None, "Y"),
    }
    hashes = [u["PWD_HASH"] for u in users]
    assert all(verify_password("demo", h) for h in hashes)
    assert not any(verify_password("Demo", h) for h in hashes)
    salts = {h.split("$")[2] for h in hashes}
    assert len(salts) == len(users)  # one salt per user
    assert all(len(h) <= 128 and h.startswith("pbkdf2_sha256$") for h in hashes)


def test_timestamps_are_all_before_the_anchor_moment(engine):
    with engine.connect() as conn:
        latest = fetch_value(conn, "SELECT MAX(UPD_TS) FROM APPT_SCHED")
        latest_patient = fetch_value(conn, "SELECT MAX(UPD_TS) FROM PATIENT_MASTER")
    assert latest < "20261120000000"
    assert latest_patient < "20261120000000"


def test_providers_are_added_when_the_appointments_would_not_fit(tmp_path):
    crowded = SeedSpec(anchor=ANCHOR, seed=1, patients=50, appointments=2_000, providers=1)
    needed = providers_needed(crowded)
    assert needed == -(-2_000 // (len(working_days(ANCHOR)) * 12))
    assert needed > 1
    rows = seeded(tmp_path, "crowded", crowded)
    assert len(rows["PROVIDER"]) == needed
    assert len(rows["APPT_SCHED"]) == 2_000


def test_a_seed_spec_needs_patients_and_providers():
    with pytest.raises(ValueError, match="at least one patient"):
        SeedSpec(anchor=date(2026, 1, 1), patients=0)
