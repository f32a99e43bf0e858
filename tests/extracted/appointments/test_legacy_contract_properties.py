"""Contract parity, generated: hostile legacy-contract requests to the legacy app and to the
service give the same answers, and a write both accept leaves the same row in legacy.

The cases in test_legacy_contract_cases.py are the ones we thought of; here Hypothesis writes
them: odd ids (zero, negative, huge, padded, Unicode digits), the calendar's ends and the
years before 1883, times that are not times, Unicode and unstorable reasons, wrong JSON types,
bodies that are not JSON. Each example starts from fresh copies of the seeded databases.

The promise checked is not only the answer. When both sides accept a write, the service's
outbox is applied to its legacy database by the real reverse applier (what `sync run` does),
and the APPT_SCHED row it leaves must be the row the legacy app wrote itself (UPD_TS, the
writer's clock, aside).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from extracted.core.legacy_db import reset_legacy_engines
from legacy_adapter.features import feature_sync
from legacy_adapter.reverse_apply import ReverseApplier
from tests.extracted.appointments.facts import Facts, facts_of
from tests.extracted.appointments.test_legacy_contract_cases import VOLATILE
from tests.extracted.appointments.world import ZONE, World, masked, query
from tests.extracted.identities import KEY
from tests.support.hostile_text import fullwidth

pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.django_db(databases=["default", "appointments"], transaction=False),
]

ODD_IDS = [0, -1, 2**31, 10**30, "7", 1.5, True, None, [], "²"]
EDGE_DATES = ["00010101", "99991231", "18000101", "18831118", "20240229", "20250229",
              "20261131", "2026112", fullwidth("20261123"), "20261123 ", "", 20261123]  # fmt: skip
EDGE_TIMES = ["0000", "2359", "2400", "0960", "930", fullwidth("0930"), "0200", " 600", 600]
REASONS = st.sampled_from(["", "ß" * 40, "x" * 201, "A\x00B", "\ud800", "😀", "O'NEIL", 7]) | (
    st.text(max_size=30)
)
NOT_JSON = [b"", b"{", b"[]", b"null", b'"x"', b"\xff\xfe", b'{"PAT_ID": 1e999}', b"{}" * 3]
MISSING = object()


@st.composite
def booking_bodies(draw: st.DrawFn, facts: Facts) -> dict[str, Any] | bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(NOT_JSON))
    fields = {
        "PAT_ID": st.sampled_from([facts.patient, facts.unknown_patient, *ODD_IDS]),
        "PROV_ID": st.sampled_from([facts.booked_prov, facts.unknown_prov, *ODD_IDS]),
        "APPT_DT": st.sampled_from([facts.booked_dt, facts.empty_dt, *EDGE_DATES]),
        "APPT_TM": st.sampled_from([facts.free_tm, facts.booked_tm, *EDGE_TIMES]),
        "DUR_MIN": st.sampled_from([15, 30, 0, -5, 481, 10**6, "30", 30.0, None]),
        "REASON_TXT": REASONS,
    }
    # Mostly valid values (so that writes are accepted and reach legacy), some hostile.
    valid = {"PAT_ID": facts.patient, "PROV_ID": facts.booked_prov, "APPT_DT": facts.empty_dt,
             "APPT_TM": facts.free_tm, "DUR_MIN": 30, "REASON_TXT": "FOLLOW UP"}  # fmt: skip
    hostile = draw(st.sets(st.sampled_from(sorted(fields)), max_size=2))
    body = {name: draw(fields[name]) if name in hostile else valid[name] for name in fields}
    dropped = draw(st.sets(st.sampled_from(sorted(fields)), max_size=1))
    return {name: value for name, value in body.items() if name not in dropped}


@st.composite
def requests(draw: st.DrawFn, facts: Facts) -> tuple[str, str, str, bytes | None]:
    ids = st.sampled_from(
        [str(facts.booked), str(facts.cancelled), str(facts.arrived), str(facts.unknown_appt),
         f"000{facts.booked}", "0", "9" * 30, "abc", "%C2%B2", "-1"]
    )  # fmt: skip
    kind = draw(st.sampled_from(["book", "reschedule", "cancel", "detail", "list"]))
    persona = draw(st.sampled_from(["scheduler", "scheduler", "clinician", "billing", "auditor"]))
    if kind == "book":
        return "POST", "/api/appointments", persona, _encoded(draw(booking_bodies(facts)))
    if kind == "reschedule":
        body = _encoded(draw(booking_bodies(facts)))
        return "PUT", f"/api/appointments/{draw(ids)}", persona, body
    if kind == "cancel":
        return "POST", f"/api/appointments/{draw(ids)}/cancel", persona, None
    if kind == "detail":
        return "GET", f"/api/appointments/{draw(ids)}", persona, None
    prov = draw(st.sampled_from([str(facts.booked_prov), "0", "abc", "", "%C2%B2", "1&prov=2"]))
    day = draw(st.sampled_from([facts.booked_dt, *map(str, EDGE_DATES)]))
    return "GET", f"/api/appointments?prov={prov}&date={day}", persona, None


def _encoded(body: dict[str, Any] | bytes) -> bytes:
    if isinstance(body, bytes):
        return body
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")


@contextmanager
def fresh_world(golden: Path, client: Any) -> Iterator[World]:
    """Both sides as the seed left them; the service database's writes are rolled back."""
    directory = Path(tempfile.mkdtemp(prefix="ficus-parity-"))
    world = World(golden, directory, client)
    reset_legacy_engines()
    try:
        with (
            override_settings(LEGACY_DATABASE_URL=world.service_legacy_url),
            transaction.atomic(using="appointments"),
            transaction.atomic(using="default"),
        ):
            world.copy_forward()
            yield world
            transaction.set_rollback(True, using="default")
            transaction.set_rollback(True, using="appointments")
    finally:
        world.close()
        reset_legacy_engines()
        shutil.rmtree(directory)


def _legacy_rows(path: Path) -> list[tuple[Any, ...]]:
    return query(
        path,
        "SELECT APPT_ID, PAT_ID, PROV_ID, APPT_DT, APPT_TM, DUR_MIN, STATUS_CD,"
        " REASON_TXT FROM APPT_SCHED ORDER BY APPT_ID",
    )


def _apply_outbox(world: World) -> None:
    engine = create_engine(world.service_legacy_url)
    try:
        ReverseApplier(engine, feature_sync("appointments").target).drain()
    finally:
        engine.dispose()


@pytest.fixture
def parity_settings(settings: Any) -> None:
    """Set once for all examples (the `settings` fixture must not be changed per example)."""
    settings.FICUS_IDENTITY_KEY = KEY
    settings.FICUS_HOSPITAL_TZ = ZONE


# Each example copies two databases and backfills one: `make fuzz` runs 1,500, not 20,000.
PARITY_RUN = hypothesis_settings(
    max_examples=min(hypothesis_settings().max_examples, 1_500),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PARITY_RUN
@given(data=st.data())
def test_generated_requests_get_the_legacy_answer_and_leave_the_legacy_row(
    data: st.DataObject, golden_legacy_db: Path, client: Any, parity_settings: None
) -> None:
    facts = facts_of(golden_legacy_db)
    method, target, persona, body = data.draw(requests(facts), label="request")
    with fresh_world(golden_legacy_db, client) as world:
        legacy = world.ask_legacy(method, target, persona, body)
        service = world.ask_service(method, target, persona, body)
        event(f"{method} {target.split('/')[2]} -> {legacy.status}")
        step = f"{method} {target} as {persona} with {body!r}"
        assert service.status == legacy.status, step
        assert masked(service.body, VOLATILE) == masked(legacy.body, VOLATILE), step
        assert service.headers == legacy.headers, step
        if method != "GET" and legacy.status == 200:
            _apply_outbox(world)
            assert _legacy_rows(world.service_legacy_path) == _legacy_rows(world.legacy_path), step
