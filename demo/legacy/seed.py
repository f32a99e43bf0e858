"""Deterministic synthetic hospital data: the same `(seed, anchor date)` gives the same rows.

Each table draws from its own `random.Random` derived from the seed, so asking for more
appointments does not reshuffle the patients. The anchor is "today": appointments run from 60
days before it to 30 days after, on weekdays between 0800 and 1700 in 15-minute slots. Past
appointments are mostly arrived (A) with some no-shows (N) and cancellations (C); the anchor day
and later are booked (B) with some cancellations. Each provider-day is laid out left to right
with random gaps, so no two appointments of one provider ever overlap.

A provider-day holds 36 slots. When the requested appointments would crowd the default
providers (more than `TARGET_PER_DAY` a day on average), more providers are added: 1,000,000
appointments need about 1,300 of them. Rows go in with executemany in batches of `BATCH_ROWS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from random import Random
from typing import Any

from sqlalchemy import Connection

from demo.legacy import synthetic
from demo.legacy.db import execute, execute_many, fetch_value
from demo.legacy.legacy_time import to_legacy_date
from demo.legacy.passwords import hash_password

DAYS_BEFORE = 60
DAYS_AFTER = 30
DAY_START_MIN = 8 * 60
SLOT_MIN = 15
SLOTS_PER_DAY = 36  # 0800-1700
TARGET_PER_DAY = 12  # mean appointments per provider-day before providers are added
BATCH_ROWS = 5_000

DEMO_PASSWORD = "demo"  # noqa: S105 - the documented password of the demo logins
# (login, role, linked provider): the demo personas from the brief, in USER_ID order.
DEMO_USERS: tuple[tuple[str, str, int | None], ...] = (
    ("clinician", "CLIN", 1),
    ("scheduler", "SCHED", None),
    ("billing", "BILL", None),
    ("operator", "OPER", None),
    ("auditor", "AUDIT", None),
    ("admin", "ADMIN", None),
)

_DEPARTMENTS = ("FAMM", "INTM", "PEDS", "CARD", "ORTH", "DERM", "OBGY", "NEUR")
_DEPARTMENT_WEIGHTS = (30, 25, 12, 8, 8, 6, 6, 5)
_DURATION_SLOTS = (1, 2, 3, 4)
_DURATION_WEIGHTS = (50, 35, 5, 10)
_WEEKDAY_WEIGHTS = (1.2, 1.0, 1.0, 1.0, 0.8)  # Monday is busiest, Friday afternoons are quiet
_REASONS = (
    "FOLLOW UP", "ANNUAL PHYSICAL", "BP CHECK", "LAB REVIEW", "MED REFILL", "NEW PATIENT",
    "COUGH", "BACK PAIN", "DIABETES F/U", "PRE-OP EVAL", "RASH", "HEADACHE", "",
)  # fmt: skip
_REASON_WEIGHTS = (20, 8, 10, 8, 10, 6, 6, 5, 7, 3, 4, 4, 9)
_EM_CODES = ("99212", "99213", "99214", "99215")  # office visits, by complexity
_EM_WEIGHTS = (15, 45, 30, 10)
_ADDON_CODES = ("36415", "93000", "81002", "90471", "85025")  # venipuncture, ECG, UA, vaccine, CBC
# A flat fee schedule in cents, as a small clinic's chargemaster would have it.
FEES_CENTS = {
    "99212": 7_500, "99213": 11_000, "99214": 16_500, "99215": 22_000,
    "36415": 1_200, "93000": 3_500, "81002": 900, "90471": 2_500, "85025": 1_800,
}  # fmt: skip

ProgressFn = Callable[[str, int, int], None]
"""Called as `progress(table, rows_done, rows_total)` after each batch."""


@dataclass(frozen=True)
class SeedSpec:
    anchor: date
    seed: int = 42
    patients: int = 2_000
    appointments: int = 20_000
    providers: int = 40

    def __post_init__(self) -> None:
        if self.patients < 1 or self.providers < 1 or self.appointments < 0:
            raise ValueError("need at least one patient and one provider, and appointments >= 0")


@dataclass(frozen=True)
class SeedSummary:
    users: int
    providers: int
    patients: int
    appointments: int
    charges: int


def _rng(seed: int, part: str) -> Random:
    """An independent stream per table, so changing one table's size leaves the others alone."""
    return Random(f"{seed}:{part}")  # noqa: S311 - synthetic data must be reproducible, not secret


def working_days(anchor: date) -> list[date]:
    """Weekdays from DAYS_BEFORE days before the anchor to DAYS_AFTER days after it."""
    days = (anchor + timedelta(days=offset) for offset in range(-DAYS_BEFORE, DAYS_AFTER + 1))
    return [day for day in days if day.weekday() < 5]


def providers_needed(spec: SeedSpec) -> int:
    """The requested providers, or more if the appointments would not fit comfortably."""
    capacity_per_provider = len(working_days(spec.anchor)) * TARGET_PER_DAY
    return max(spec.providers, math.ceil(spec.appointments / capacity_per_provider))


def seed_database(
    conn: Connection, spec: SeedSpec, *, progress: ProgressFn | None = None
) -> SeedSummary:
    """Fill empty legacy tables, inside the caller's transaction."""
    n_providers = providers_needed(spec)
    report = progress or (lambda _table, _done, _total: None)
    providers = _provider_rows(_rng(spec.seed, "providers"), n_providers)
    _insert(conn, "PROVIDER", providers, report)
    users = _user_rows(_rng(spec.seed, "users"), providers[0])
    _insert(conn, "APP_USER", users, report)
    _insert(conn, "PATIENT_MASTER", _patient_rows(_rng(spec.seed, "patients"), spec), report)
    book = _AppointmentBook(spec, n_providers)
    charge_count = _insert_appointments(conn, spec.appointments, book.generate(), report)
    _reset_sequences(conn)
    return SeedSummary(
        users=len(users),
        providers=n_providers,
        patients=spec.patients,
        appointments=spec.appointments,
        charges=charge_count,
    )


_INSERTS = {
    "PROVIDER": "INSERT INTO PROVIDER (PROV_ID, NAME, DEPT_CD) VALUES (:PROV_ID, :NAME, :DEPT_CD)",
    "APP_USER": (
        "INSERT INTO APP_USER (USER_ID, LOGIN_NM, PWD_HASH, FULL_NM, ROLE_CD, PROV_ID, ACTIVE_FLG)"
        " VALUES (:USER_ID, :LOGIN_NM, :PWD_HASH, :FULL_NM, :ROLE_CD, :PROV_ID, :ACTIVE_FLG)"
    ),
    "PATIENT_MASTER": (
        "INSERT INTO PATIENT_MASTER (PAT_ID, MRN, LAST_NM, FIRST_NM, DOB, SEX_CD, SSN, PHONE,"
        " ADDR1, CITY, ST, ZIP, UPD_TS) VALUES (:PAT_ID, :MRN, :LAST_NM, :FIRST_NM, :DOB,"
        " :SEX_CD, :SSN, :PHONE, :ADDR1, :CITY, :ST, :ZIP, :UPD_TS)"
    ),
    "APPT_SCHED": (
        "INSERT INTO APPT_SCHED (APPT_ID, PAT_ID, PROV_ID, APPT_DT, APPT_TM, DUR_MIN, STATUS_CD,"
        " REASON_TXT, UPD_TS) VALUES (:APPT_ID, :PAT_ID, :PROV_ID, :APPT_DT, :APPT_TM,"
        " :DUR_MIN, :STATUS_CD, :REASON_TXT, :UPD_TS)"
    ),
    "BILL_CHARGE": (
        "INSERT INTO BILL_CHARGE (CHG_ID, APPT_ID, PAT_ID, CPT_CD, AMT_CENTS, POSTED_DT)"
        " VALUES (:CHG_ID, :APPT_ID, :PAT_ID, :CPT_CD, :AMT_CENTS, :POSTED_DT)"
    ),
}

Row = dict[str, Any]


def _insert(conn: Connection, table: str, rows: list[Row], report: ProgressFn) -> None:
    for start in range(0, len(rows), BATCH_ROWS):
        execute_many(conn, _INSERTS[table], rows[start : start + BATCH_ROWS])
    report(table, len(rows), len(rows))


def _insert_appointments(
    conn: Connection, total: int, visits: Iterator[tuple[Row, list[Row]]], report: ProgressFn
) -> int:
    """Stream appointments and their charges in batches, so 1M rows never sit in memory."""
    appointments: list[Row] = []
    charges: list[Row] = []
    done = charged = 0
    for appointment, its_charges in visits:
        appointments.append(appointment)
        charges.extend(its_charges)
        if len(appointments) >= BATCH_ROWS:
            done, charged = _flush(conn, appointments, charges, done, charged)
            report("APPT_SCHED", done, total)
    done, charged = _flush(conn, appointments, charges, done, charged)
    report("APPT_SCHED", done, total)
    return charged


def _flush(
    conn: Connection, appointments: list[Row], charges: list[Row], done: int, charged: int
) -> tuple[int, int]:
    execute_many(conn, _INSERTS["APPT_SCHED"], appointments)
    execute_many(conn, _INSERTS["BILL_CHARGE"], charges)
    done, charged = done + len(appointments), charged + len(charges)
    appointments.clear()
    charges.clear()
    return done, charged


def _reset_sequences(conn: Connection) -> None:
    """LEGACY_SEQ.NEXT_VAL = max id + 1: the next id the legacy app will hand out."""
    execute(conn, "DELETE FROM LEGACY_SEQ")
    sequences = (("APPT_ID", "APPT_SCHED"), ("PAT_ID", "PATIENT_MASTER"), ("CHG_ID", "BILL_CHARGE"))
    for seq_nm, table in sequences:
        highest = fetch_value(conn, f"SELECT MAX({seq_nm}) FROM {table}") or 0
        execute(
            conn,
            "INSERT INTO LEGACY_SEQ (SEQ_NM, NEXT_VAL) VALUES (:seq, :next_val)",
            {"seq": seq_nm, "next_val": int(highest) + 1},
        )


def _provider_rows(rng: Random, count: int) -> list[Row]:
    rows = []
    for prov_id in range(1, count + 1):
        last, first = synthetic.surname(rng), synthetic.given_name(rng, rng.choice("FM"))
        dept = "FAMM" if prov_id == 1 else rng.choices(_DEPARTMENTS, _DEPARTMENT_WEIGHTS)[0]
        rows.append({"PROV_ID": prov_id, "NAME": f"{last}, {first} MD", "DEPT_CD": dept})
    return rows


def _user_rows(rng: Random, first_provider: Row) -> list[Row]:
    rows = []
    for user_id, (login, role, prov_id) in enumerate(DEMO_USERS, start=1):
        if prov_id is not None:
            last, first = first_provider["NAME"].removesuffix(" MD").split(", ")
            full_nm = f"{first} {last} MD"
        else:
            full_nm = f"{synthetic.given_name(rng, 'U')} {synthetic.surname(rng)}"
        salt = rng.randbytes(16)  # per user; drawn from the seed so the rows are reproducible
        rows.append(
            {
                "USER_ID": user_id,
                "LOGIN_NM": login,
                "PWD_HASH": hash_password(DEMO_PASSWORD, salt),
                "FULL_NM": full_nm,
                "ROLE_CD": role,
                "PROV_ID": prov_id,
                "ACTIVE_FLG": "Y",
            }
        )
    return rows


def _patient_rows(rng: Random, spec: SeedSpec) -> list[Row]:
    rows = []
    for pat_id in range(1, spec.patients + 1):
        sex_cd = rng.choices("FMU", (50, 48, 2))[0]
        dob = spec.anchor - timedelta(days=rng.randint(30, 95 * 365))
        updated = spec.anchor - timedelta(days=rng.randint(1, 3000))
        rows.append(
            {
                "PAT_ID": pat_id,
                "MRN": f"M{pat_id:07d}",
                "LAST_NM": synthetic.surname(rng),
                "FIRST_NM": synthetic.given_name(rng, sex_cd),
                "DOB": to_legacy_date(dob),
                "SEX_CD": sex_cd,
                "SSN": None if rng.random() < 0.04 else synthetic.ssn(rng),
                "PHONE": None if rng.random() < 0.03 else synthetic.phone(rng),
                "ADDR1": synthetic.street_address(rng),
                "CITY": synthetic.city(rng),
                "ST": synthetic.state(rng),
                "ZIP": synthetic.zip_code(rng),
                "UPD_TS": to_legacy_date(updated) + _office_hours_hms(rng),
            }
        )
    return rows


def _office_hours_hms(rng: Random) -> str:
    seconds = rng.randrange(8 * 3600, 18 * 3600)
    return f"{seconds // 3600:02d}{seconds // 60 % 60:02d}{seconds % 60:02d}"


class _AppointmentBook:
    """Lays out every provider-day and yields (appointment, its charges) in date order."""

    def __init__(self, spec: SeedSpec, n_providers: int) -> None:
        self.spec = spec
        self.n_providers = n_providers
        self.days = working_days(spec.anchor)
        self.rng = _rng(spec.seed, "appointments")
        self.last_chg_id = 0
        # Day strings by offset from the anchor, for timestamps well before the window too.
        self._day = {
            offset: to_legacy_date(spec.anchor + timedelta(days=offset))
            for offset in range(-DAYS_BEFORE - 60, DAYS_AFTER + 1)
        }

    def _daily_counts(self) -> list[int]:
        """Appointments per (day, provider) bucket, day-major; sums to spec.appointments."""
        rng = self.rng
        provider_weights = [rng.uniform(0.6, 1.4) for _ in range(self.n_providers)]
        weights = [
            _WEEKDAY_WEIGHTS[day.weekday()] * provider_weight
            for day in self.days
            for provider_weight in provider_weights
        ]
        total_weight = sum(weights)
        wanted = self.spec.appointments
        counts = [min(SLOTS_PER_DAY, int(wanted * w / total_weight)) for w in weights]
        missing = wanted - sum(counts)
        buckets = range(len(counts))
        while missing > 0:  # hand out the remainder in proportion to the weights
            for bucket in rng.choices(buckets, weights, k=missing):
                if counts[bucket] < SLOTS_PER_DAY and missing > 0:
                    counts[bucket] += 1
                    missing -= 1
        return counts

    def generate(self) -> Iterator[tuple[Row, list[Row]]]:
        spec = self.spec
        counts = self._daily_counts()
        appt_id = 0
        for day_index, day in enumerate(self.days):
            offset = (day - spec.anchor).days
            appt_dt = self._day[offset]
            for prov_index in range(self.n_providers):
                count = counts[day_index * self.n_providers + prov_index]
                if not count:
                    continue
                for start_slot, slots in self._layout(count):
                    appt_id += 1
                    yield self._visit(appt_id, prov_index + 1, offset, appt_dt, start_slot, slots)

    def _layout(self, count: int) -> list[tuple[int, int]]:
        """`count` non-overlapping (start slot, length in slots) pairs inside one day."""
        rng = self.rng
        lengths = rng.choices(_DURATION_SLOTS, _DURATION_WEIGHTS, k=count)
        while sum(lengths) > SLOTS_PER_DAY:  # a crowded day gets shorter visits
            lengths[lengths.index(max(lengths))] = 1
        free = SLOTS_PER_DAY - sum(lengths)
        cuts = sorted(rng.randint(0, free) for _ in range(count))
        layout, cursor, previous_cut = [], 0, 0
        for length, cut in zip(lengths, cuts, strict=True):
            cursor += cut - previous_cut
            previous_cut = cut
            layout.append((cursor, length))
            cursor += length
        return layout

    def _visit(
        self, appt_id: int, prov_id: int, offset: int, appt_dt: str, start_slot: int, slots: int
    ) -> tuple[Row, list[Row]]:
        rng = self.rng
        start_min = DAY_START_MIN + start_slot * SLOT_MIN
        dur_min = slots * SLOT_MIN
        pat_id = rng.randint(1, self.spec.patients)
        roll = rng.random()
        charges: list[Row] = []
        if offset < 0:
            status = "A" if roll < 0.80 else "N" if roll < 0.88 else "C"
        else:
            status = "B" if roll < 0.88 else "C"
        if status == "A":  # checked in at the visit
            end = start_min + dur_min
            upd_ts = f"{appt_dt}{end // 60:02d}{end % 60:02d}{rng.randint(0, 59):02d}"
            charges = self._charges(appt_id, pat_id, offset)
        elif status == "N":  # marked no-show at the end of clinic
            upd_ts = f"{appt_dt}1730{rng.randint(0, 59):02d}"
        elif status == "C":  # cancelled a few days ahead
            upd_ts = self._day[min(offset, 0) - rng.randint(1, 14)] + _office_hours_hms(rng)
        else:  # booked some weeks ago
            upd_ts = self._day[-rng.randint(1, 45)] + _office_hours_hms(rng)
        appointment = {
            "APPT_ID": appt_id,
            "PAT_ID": pat_id,
            "PROV_ID": prov_id,
            "APPT_DT": appt_dt,
            "APPT_TM": f"{start_min // 60:02d}{start_min % 60:02d}",
            "DUR_MIN": dur_min,
            "STATUS_CD": status,
            "REASON_TXT": rng.choices(_REASONS, _REASON_WEIGHTS)[0],
            "UPD_TS": upd_ts,
        }
        return appointment, charges

    def _charges(self, appt_id: int, pat_id: int, offset: int) -> list[Row]:
        """1-3 charge lines for an arrived visit: an office-visit code plus add-ons."""
        rng = self.rng
        extra = rng.choices((0, 1, 2), (55, 30, 15))[0]
        codes = [rng.choices(_EM_CODES, _EM_WEIGHTS)[0], *rng.sample(_ADDON_CODES, extra)]
        posted_dt = self._day[min(offset + rng.randint(0, 3), 0)]  # never posted after today
        rows = []
        for cpt_cd in codes:
            self.last_chg_id += 1
            rows.append(
                {
                    "CHG_ID": self.last_chg_id,
                    "APPT_ID": appt_id,
                    "PAT_ID": pat_id,
                    "CPT_CD": cpt_cd,
                    "AMT_CENTS": FEES_CENTS[cpt_cd],
                    "POSTED_DT": posted_dt,
                }
            )
        return rows
