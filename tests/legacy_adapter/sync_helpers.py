"""Shared set-up for the sync tests: a legacy database with capture installed, the service's
test database with `ficus_applied_change`, and small readers of both sides."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.db import transaction
from sqlalchemy import Engine, create_engine, func, select, text, update

from extracted.appointments.models import Appointment, Outbox
from extracted.core.outbox import record_change
from extracted.core.versions import next_version
from legacy_adapter import migrations
from legacy_adapter.change_ops import OUTBOX_UPSERT
from legacy_adapter.features import feature_sync
from legacy_adapter.ficus_tables import change
from legacy_adapter.forward_apply import ForwardApplier
from legacy_adapter.forward_contract import now_us
from legacy_adapter.schema import ApptSched
from legacy_adapter.versions import resolution_us
from tests.legacy_adapter.legacy_db import add_patient, create_legacy_schema

ZONE = "America/Chicago"


def legacy_engine(url: str) -> Engine:
    engine = create_engine(url)
    create_legacy_schema(engine)
    migrations.upgrade(engine)
    add_patient(engine, 1, "DOE", "JANE")
    add_patient(engine, 2, "ROE", "RICHARD")
    return engine


def applier(engine: Engine, **kwargs) -> ForwardApplier:
    sync = feature_sync("appointments")
    sync.target.ensure_tables()
    return ForwardApplier(engine, sync.source, sync.target, **kwargs)


def edit(engine: Engine, appt_id: int, **values) -> None:
    with engine.begin() as conn:
        conn.execute(update(ApptSched).where(ApptSched.APPT_ID == appt_id).values(**values))


def service_edit(appt_id: int, **values) -> None:
    """A service write as the appointments service makes one (services.py): the row, stamped
    with the clock (UPD_TS to the second, the version to the microsecond, after the previous
    one), and its outbox row, in one transaction of the service database."""
    now = datetime.now(UTC)
    with transaction.atomic(using="appointments"):
        row = Appointment.objects.select_for_update().get(pk=appt_id)
        for name, value in values.items():
            setattr(row, name, value)
        row.source_updated_at = now.replace(microsecond=0)
        row.sync_version = next_version(row.sync_version, now)
        row.save(using="appointments")
        record_change(Outbox, aggregate="appointment", key=appt_id, operation=OUTBOX_UPSERT)


def past_the_last_capture(engine: Engine) -> None:
    """Return once the clock is past the newest captured legacy write by the capture clock's
    resolution (1 ms on SQLite), so a write made next is newer than it, not a tie. Ordering,
    not timing: a write "a moment later" must be later on both clocks."""
    with engine.connect() as conn:
        last = conn.execute(select(func.max(change.c.created_at_us))).scalar_one()
    while last is not None and now_us() <= last + resolution_us(engine.dialect.name):
        time.sleep(0.0002)


def pending(engine: Engine, tbl: str = "APPT_SCHED") -> list[tuple[int, str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(change.c.id, change.c.tbl, change.c.pk)
            .where(change.c.done_at_us.is_(None), change.c.tbl == tbl)
            .order_by(change.c.id)
        )
        return [tuple(row) for row in rows]


def stored() -> dict[int, Appointment]:
    return Appointment.objects.in_bulk()


def sql(engine: Engine, statement: str, **params):
    with engine.begin() as conn:
        result = conn.execute(text(statement), params)
        return result.all() if result.returns_rows else []
